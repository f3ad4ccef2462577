@testable import ConcordEdge
import ConcordGateway
import NIOCore
import NIOWebSocket
import Testing

/// The edge writes gateway frames as bytes (many per socket write): each must be exactly one
/// unmasked, final WebSocket frame, with the length in the form RFC 6455 §5.2 requires.
@Suite("WebSocket frame bytes")
struct WebSocketFrameBytesTests {
    private func header(_ opcode: WebSocketOpcode, _ length: Int) -> [UInt8] {
        var buffer = ByteBuffer()
        WebSocketFrameBytes.appendHeader(opcode: opcode, length: length, to: &buffer)
        return Array(buffer.readableBytesView)
    }

    @Test func lengthsUseTheirShortestForm() {
        #expect(header(.text, 0) == [0x81, 0])
        #expect(header(.text, 125) == [0x81, 125])
        #expect(header(.text, 126) == [0x81, 126, 0, 126])
        #expect(header(.binary, 65_535) == [0x82, 126, 0xFF, 0xFF])
        #expect(header(.binary, 65_536) == [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0])
    }

    @Test func framesFollowOneAnotherInOneBuffer() {
        var buffer = ByteBuffer()
        let dispatch = Dispatch(seq: 7, type: "MESSAGE_CREATE", data: #"{"content":"é"}"#)
        WebSocketFrameBytes.append(dispatch, to: &buffer)
        WebSocketFrameBytes.append(text: String(repeating: "x", count: 300), to: &buffer)
        WebSocketFrameBytes.append(opcode: .binary, [1, 2, 3], to: &buffer)
        let bytes = Array(buffer.readableBytesView)
        let first = Array(dispatch.frame.utf8)
        #expect(Array(bytes.prefix(2 + first.count)) == [0x81, UInt8(first.count)] + first)
        let second = bytes.dropFirst(2 + first.count)
        #expect(Array(second.prefix(4)) == [0x81, 126, 0x01, 0x2C])
        #expect(Array(bytes.suffix(5)) == [0x82, 3, 1, 2, 3])
        #expect(bytes.count == 2 + first.count + 4 + 300 + 5)
    }

    /// A dispatch's header is written with its text: each length form, then the text whole.
    @Test(arguments: [100, 200, 70_000])
    func aDispatchsHeaderTakesItsLengthsForm(dataLength: Int) {
        let dispatch = Dispatch(seq: 3, type: "T", data: "\"" + String(repeating: "x", count: dataLength) + "\"")
        var buffer = ByteBuffer()
        WebSocketFrameBytes.append(dispatch, to: &buffer)
        WebSocketFrameBytes.append(text: "after", to: &buffer)
        let text = Array(dispatch.frame.utf8)
        let headerBytes = header(.text, text.count)
        #expect(Array(buffer.readableBytesView) == headerBytes + text + [0x81, 5] + Array("after".utf8))
        #expect(headerBytes.count == (text.count < 126 ? 2 : text.count <= 65_535 ? 4 : 10))
    }

    @Test func aDispatchsBytesAreItsFrameForEverySequenceNumber() {
        var seqs: [Int64] = [0, 1, 9, 10, 99, 100, 12_345, Int64.max, -1, Int64.min]
        var power: Int64 = 1
        while power <= Int64.max / 10 { power *= 10; seqs += [power - 1, power, power + 1] }
        for seq in seqs {
            let dispatch = Dispatch(seq: seq, type: "T", data: "{}")
            var buffer = ByteBuffer()
            WebSocketFrameBytes.append(dispatch, to: &buffer)
            let text = Array(dispatch.frame.utf8)
            #expect(Array(buffer.readableBytesView.dropFirst(2)) == text, "seq \(seq)")
            #expect(dispatch.byteCount == text.count)
            #expect(Dispatch.decimalDigits(seq) == String(seq).utf8.count)
        }
    }
}
