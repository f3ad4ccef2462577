@testable import ConcordEdge
import NIOCore
import Testing

/// The gateway reads clients' frames itself: a frame reads the same however the socket splits
/// it, and what a client may not send fails the connection with the code RFC 6455 gives it.
@Suite("WebSocket frame reader")
struct WebSocketFrameReaderTests {
    typealias Frame = WebSocketFrameReader.Frame

    /// A client's frame: masked, the length in its shortest form (or `length` as given).
    static func frame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, masked: Bool = true, first: UInt8 = 0) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | first | opcode]
        let mask: UInt8 = masked ? 0x80 : 0
        switch payload.count {
        case ..<126: bytes.append(mask | UInt8(payload.count))
        case ...65_535: bytes += [mask | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: bytes += [mask | 127] + (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        guard masked else { return bytes + payload }
        let key: [UInt8] = [0xA1, 0x02, 0xC3, 0x74]
        return bytes + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    }

    static func read(_ chunks: [[UInt8]], maxFrameSize: Int = 1 << 20) -> (frames: [Frame], failure: WebSocketFrameReader.Failure?, waiting: Bool) {
        var reader = WebSocketFrameReader(maxFrameSize: maxFrameSize)
        var frames: [Frame] = []
        do {
            for chunk in chunks { try reader.read(ByteBuffer(bytes: chunk)) { frames.append($0) } }
        } catch {
            return (frames, error, reader.isWaitingForMore)
        }
        return (frames, nil, reader.isWaitingForMore)
    }

    @Test func framesReadTheSameHoweverTheSocketSplitsThem() {
        let text = Array(#"{"op":2,"d":{"token":"x"}}"#.utf8)
        let medium = (0..<300).map { UInt8($0 % 251) }
        let large = (0..<70_000).map { UInt8($0 % 253) }
        let stream = Self.frame(1, text) + Self.frame(9, [1, 2]) + Self.frame(2, medium, fin: false) + Self.frame(0, large) + Self.frame(1, [])
        let expected = [Frame(fin: true, opcode: 1, payload: text), Frame(fin: true, opcode: 9, payload: [1, 2]),
                        Frame(fin: false, opcode: 2, payload: medium), Frame(fin: true, opcode: 0, payload: large),
                        Frame(fin: true, opcode: 1, payload: [])]
        #expect(Self.read([stream]).frames == expected)
        for cut in [1, 2, 3, 7, 30, stream.count - 70_005, stream.count - 1] {
            let split = Self.read([Array(stream[..<cut]), Array(stream[cut...])])
            #expect(split.frames == expected, "split at \(cut)")
            #expect(!split.waiting)
        }
        let byteByByte = Self.read(stream.prefix(200).map { [$0] })
        #expect(byteByByte.frames == Array(expected.prefix(2)))
        #expect(byteByByte.waiting, "the third frame has begun")
    }

    @Test func whatAClientMayNotSendFailsTheConnection() {
        let cases: [(String, [UInt8], WebSocketFrameReader.Failure)] = [
            ("unmasked", Self.frame(1, [65], masked: false), .protocolError),
            ("a reserved bit", Self.frame(1, [65], first: 0x40), .protocolError),
            ("a reserved opcode", Self.frame(3, [65]), .protocolError),
            ("a reserved control opcode", Self.frame(11, []), .protocolError),
            ("a fragmented ping", Self.frame(9, [1], fin: false), .protocolError),
            ("a close past 125 bytes", Self.frame(8, Array(repeating: 0, count: 126)), .protocolError),
            ("past the size limit", Self.frame(2, Array(repeating: 0, count: 1001)), .tooBig),
        ]
        for (name, bytes, failure) in cases {
            let result = Self.read([Self.frame(1, [1]), bytes], maxFrameSize: 1000)
            #expect(result.failure == failure, "\(name)")
            #expect(result.frames.count == 1, "\(name): the frame before it was read")
        }
    }

    @Test func aHugeLengthFailsFromItsHeaderAlone() {
        // 2^64-1 and 2^63 as lengths, with no payload at all behind them.
        for length: UInt64 in [.max, 1 << 63, 1 << 20 + 1] {
            let header: [UInt8] = [0x82, 0x80 | 127] + (0..<8).reversed().map { UInt8((length >> (UInt64($0) * 8)) & 0xFF) }
            #expect(Self.read([header]).failure == .tooBig, "length \(length)")
        }
        #expect(Self.read([[0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0x10, 0, 0]]).failure == nil, "exactly 1 MiB waits for its payload")
    }
}
