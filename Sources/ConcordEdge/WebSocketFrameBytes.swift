import ConcordGateway
import NIOCore
import NIOWebSocket

/// A server's WebSocket frames written as bytes, many into one buffer, so a socket's queued
/// frames go down its pipeline as one write instead of one per frame through the frame encoder.
/// Server frames are never masked (RFC 6455 §5.1), and every frame Concord sends is whole (FIN).
enum WebSocketFrameBytes {
    static func appendHeader(opcode: WebSocketOpcode, length: Int, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(0x80) | UInt8(webSocketOpcode: opcode))
        switch length {
        case ..<126: buffer.writeInteger(UInt8(length))
        case ...Int(UInt16.max):
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        default:
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
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

    /// A dispatch's frame: room made once for all of it, and its text copied in one pass over
    /// the buffer's memory (not one capacity check per piece).
    static func append(_ dispatch: Dispatch, to buffer: inout ByteBuffer) {
        let length = dispatch.byteCount
        buffer.reserveCapacity(minimumWritableBytes: 10 + length)
        appendHeader(opcode: .text, length: length, to: &buffer)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
            var at = 0
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
