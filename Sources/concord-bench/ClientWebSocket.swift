import Foundation
import NIOCore

/// The client's side of RFC 6455, as little of it as a load generator needs: the upgrade request,
/// masked frames out, and frames in read where they lie in the received bytes. NIO's upgrader and
/// frame decoder cost the generator more per received frame than the edge spends sending it
/// (two pipeline hops, a parser state machine and a frame object each), and the generator shares
/// the machine's cores with the edge it measures.
enum ClientWebSocket {
    static func upgradeRequest(host: String, port: Int, path: String) -> String {
        let key = (0..<16).map { _ in UInt8.random(in: 0...255) }
        return "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(Data(key).base64EncodedString())\r\nSec-WebSocket-Version: 13\r\n\r\n"
    }

    /// More than any upgrade response's head takes.
    static let largestResponseHead = 16 << 10

    /// Where the response head ends in `bytes` (past its blank line), and whether it switched
    /// protocols; nil until the whole head is in.
    static func responseHead(in bytes: UnsafeRawBufferPointer) -> (end: Int, switched: Bool)? {
        guard let end = ByteSearch.end(of: Array("\r\n\r\n".utf8), in: bytes) else { return nil }
        let status = Array("HTTP/1.1 101".utf8)
        return (end, bytes.count >= status.count && zip(bytes, status).allSatisfy { $0 == $1 })
    }

    /// One masked frame (a client must mask what it sends).
    static func frame(opcode: UInt8, _ payload: some Collection<UInt8>, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: payload.count + 14)
        buffer.writeInteger(0x80 | opcode)
        switch payload.count {
        case ..<126: buffer.writeInteger(UInt8(0x80 | payload.count))
        case ..<65_536: buffer.writeInteger(UInt8(0x80 | 126)); buffer.writeInteger(UInt16(payload.count))
        default: buffer.writeInteger(UInt8(0x80 | 127)); buffer.writeInteger(UInt64(payload.count))
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        buffer.writeBytes(mask)
        buffer.writeBytes(payload.enumerated().map { $0.element ^ mask[$0.offset & 3] })
        return buffer
    }

    /// A frame as it lies in received bytes.
    struct Frame {
        let fin: Bool
        let opcode: UInt8
        let payload: UnsafeRawBufferPointer
    }

    enum Parsed {
        case frame(Frame, next: Int)
        /// More bytes are needed.
        case incomplete
        /// Masked by the server, or longer than `maximumPayload`.
        case invalid
    }

    static let maximumPayload = 1 << 24

    /// The frame starting at `offset` of `bytes`.
    static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Parsed {
        let available = bytes.count - offset
        guard available >= 2 else { return .incomplete }
        let first = bytes[offset], second = bytes[offset + 1]
        guard second & 0x80 == 0 else { return .invalid }
        var length = Int(second & 0x7F), header = 2
        if length == 126 {
            guard available >= 4 else { return .incomplete }
            length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            header = 4
        } else if length == 127 {
            guard available >= 10 else { return .incomplete }
            var long: UInt64 = 0
            for i in 2..<10 { long = long << 8 | UInt64(bytes[offset + i]) }
            guard long <= UInt64(maximumPayload) else { return .invalid }
            length = Int(long)
            header = 10
        }
        guard available >= header + length else { return .incomplete }
        let start = offset + header
        return .frame(Frame(fin: first & 0x80 != 0, opcode: first & 0x0F,
                            payload: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)])),
                      next: start + length)
    }
}
