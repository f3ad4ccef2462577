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

    static func append(_ dispatch: Dispatch, to buffer: inout ByteBuffer) {
        appendHeader(opcode: .text, length: dispatch.byteCount, to: &buffer)
        dispatch.withPieces { buffer.writeString($0) }
    }
}
