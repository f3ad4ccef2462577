import ConcordGateway
import NIOCore
import NIOWebSocket

/// A server's WebSocket frames written as bytes, many into one buffer, so a socket's queued
/// frames go down its pipeline as one write instead of one per frame through the frame encoder.
/// Server frames are never masked (RFC 6455 §5.1), and every frame Concord sends is whole (FIN).
enum WebSocketFrameBytes {
    static func appendHeader(opcode: WebSocketOpcode, length: Int, to buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maximumHeaderBytes) { out in
            writeHeader(opcode: opcode, length: length, into: out)
        }
    }

    private static let maximumHeaderBytes = 10

    /// Writes a frame's header at the start of `out` (room for `maximumHeaderBytes`); answers
    /// its size. Byte by byte into memory already reserved: writing its one-byte integers
    /// through the buffer checked room and uniqueness and copied each (3% of a fan-out's CPU).
    private static func writeHeader(opcode: WebSocketOpcode, length: Int, into out: UnsafeMutableRawBufferPointer) -> Int {
        out[0] = 0x80 | UInt8(webSocketOpcode: opcode)
        switch length {
        case ..<126:
            out[1] = UInt8(length)
            return 2
        case ...Int(UInt16.max):
            out[1] = 126
            out[2] = UInt8(length >> 8)
            out[3] = UInt8(length & 0xFF)
            return 4
        default:
            out[1] = 127
            for index in 0..<8 { out[2 + index] = UInt8((UInt64(length) >> (8 * (7 - index))) & 0xFF) }
            return 10
        }
    }

    static func append(opcode: WebSocketOpcode, _ bytes: [UInt8], to buffer: inout ByteBuffer) {
        appendHeader(opcode: opcode, length: bytes.count, to: &buffer)
        buffer.writeBytes(bytes)
    }

    static func append(text: String, to buffer: inout ByteBuffer) {
        appendHeader(opcode: .text, length: text.utf8.count, to: &buffer)
        buffer.writeString(text)
    }

    /// A dispatch's frame: room made once for all of it, header and text written in one pass
    /// over the buffer's memory (not one capacity check per piece).
    static func append(_ dispatch: Dispatch, to buffer: inout ByteBuffer) {
        let length = dispatch.byteCount
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maximumHeaderBytes + length) { out in
            var at = writeHeader(opcode: .text, length: length, into: out)
            dispatch.withPieces(text: { text in
                let copied = text.utf8.withContiguousStorageIfAvailable { bytes in
                    UnsafeMutableRawBufferPointer(rebasing: out[at..<(at + bytes.count)]).copyMemory(from: UnsafeRawBufferPointer(bytes))
                    return bytes.count
                }
                if let copied { at += copied } else { for byte in text.utf8 { out[at] = byte; at += 1 } }
            }, number: { n in
                guard n >= 0 else { for byte in String(n).utf8 { out[at] = byte; at += 1 }; return }
                let digits = Dispatch.decimalDigits(n)
                var rest = n
                for index in stride(from: at + digits - 1, through: at, by: -1) {
                    out[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                at += digits
            })
            return at
        }
    }
}
