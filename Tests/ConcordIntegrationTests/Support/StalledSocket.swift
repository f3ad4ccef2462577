import ConcordGateway
import ConcordModels
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A gateway client over a plain TCP socket that can stop reading: what a hostile or stuck
/// client does. Its receive buffer is made small, so what the server writes piles up on the
/// server's side. Reads and writes block with short timeouts (tests only).
final class StalledSocket: @unchecked Sendable {
    // @unchecked: one test task drives it from start to end; nothing else touches it.
    private let fd: Int32
    private var pending: [UInt8] = []
    private(set) var endOfStream = false

    /// Inflates binary frames when the socket asked for transport compression.
    private let decompressor: (any GatewayDecompressor)?

    /// `sendBuffer`: a fixed kernel send buffer, so what was sent and not yet taken by the
    /// server is bounded too (by default it grows to megabytes).
    init(port: Int, path: String = "/gateway?v=10&encoding=json", compression: GatewayCompression? = nil, sendBuffer: Int32? = nil) throws {
        decompressor = compression?.makeDecompressor()
        fd = try connectToLoopback(port: port, receiveBuffer: 4096, sendBuffer: sendBuffer)
        try writeAll(Array(("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8))
        // The 101's head, then frames.
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if let end = pending.firstRange(of: Array("\r\n\r\n".utf8)) { pending.removeSubrange(..<end.upperBound); return }
            readSome()
        }
        throw Failure("no upgrade response")
    }

    deinit { close(fd) }

    /// The close code of the close frame the server sent, once one was read.
    private(set) var closeCode: UInt16?
    /// Op 9 (invalid session) frames read.
    private(set) var invalidSessions = 0
    /// The payloads of the pong frames read.
    private(set) var pongs: [[UInt8]] = []

    /// Sends a text frame, masked as a client must.
    func send(_ text: String) throws { try send(opcode: 1, Array(text.utf8)) }

    /// Sends one frame of any opcode (1 text, 2 binary, 0 continuation, …), masked; `fin: false`
    /// for a fragment that more follow.
    func send(opcode: UInt8, _ payload: [UInt8], fin: Bool = true) throws {
        try writeAll(Self.frame(opcode: opcode, payload, fin: fin))
    }

    /// One masked client frame's bytes: several sent in one write arrive as one segment, as a
    /// client's batched frames do.
    static func frame(opcode: UInt8, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        if payload.count < 126 { frame.append(0x80 | UInt8(payload.count)) } else if payload.count <= 0xFFFF {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            frame += (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return frame
    }

    /// Sends bytes as they are: a frame no client may send, for one.
    func sendRaw(_ bytes: [UInt8]) throws { try writeAll(bytes) }

    /// Reads for up to `seconds` (or until the server closes), answering the text frames read.
    func read(for seconds: Double) -> [JSONValue] {
        var frames: [JSONValue] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            while let frame = nextFrame() { frames.append(frame) }
            if endOfStream { break }
            readSome()
        }
        while let frame = nextFrame() { frames.append(frame) }
        return frames
    }

    private func readSome() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = recv(fd, &buffer, buffer.count, 0)
        if count > 0 { pending += buffer[0..<count] } else if count == 0 { endOfStream = true }
    }

    /// One unmasked server frame off the front of what was read (text as JSON; others skipped).
    private func nextFrame() -> JSONValue? {
        while pending.count >= 2 {
            var length = Int(pending[1] & 0x7F)
            var offset = 2
            if length == 126 {
                guard pending.count >= 4 else { return nil }
                length = Int(pending[2]) << 8 | Int(pending[3]); offset = 4
            } else if length == 127 {
                guard pending.count >= 10 else { return nil }
                length = pending[2..<10].reduce(0) { $0 << 8 | Int($1) }; offset = 10
            }
            guard pending.count >= offset + length else { return nil }
            let opcode = pending[0] & 0x0F
            let payload = Array(pending[offset..<(offset + length)])
            pending.removeFirst(offset + length)
            if opcode == 8, payload.count >= 2 {
                closeCode = UInt16(payload[0]) << 8 | UInt16(payload[1])
                // Answer the close, as a client does, so the server can end the connection at once.
                try? send(opcode: 8, Array(payload.prefix(2)))
            }
            if opcode == 10 { pongs.append(payload) }
            let text = opcode == 2 ? decompressor?.decompress(payload).map { Array($0.utf8) } : opcode == 1 ? payload : nil
            if let text, let value = try? WireJSON.decode(JSONValue.self, from: Data(text)) {
                if value["op"]?.intValue == 9 { invalidSessions += 1 }
                return value
            }
        }
        return nil
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure("send") }
            sent += n
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ what: String) { description = "stalled socket: \(what) failed" }
    }
}

/// A bare TCP connection to a server on loopback, for what a slowloris or a flood of idle
/// connections does.
final class RawSocket: @unchecked Sendable {
    // @unchecked: used by one test task at a time.
    let fd: Int32

    init(port: Int) throws {
        fd = try connectToLoopback(port: port)
    }

    deinit { close(fd) }

    func write(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// What the server sends within `seconds` or until it closes, as text.
    func readAll(within seconds: Double) -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { received += buffer[0..<n] } else if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { break }
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Whether the server closes the connection within `seconds` (what it sends meanwhile is read and dropped).
    func closedByServer(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return true }
            if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK { return true }
        }
        return false
    }
}

/// Runs blocking socket work on a thread of its own: the in-process cluster's servers need the
/// few cooperative threads there are, and a test blocked in recv() on one would starve them.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// A TCP socket connected to 127.0.0.1:`port`, whose reads wait at most 200 ms (and whose
/// receive buffer is `receiveBuffer` bytes, when given).
func connectToLoopback(port: Int, receiveBuffer: Int32? = nil, sendBuffer: Int32? = nil) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw StalledSocket.Failure("socket") }
    if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
    if var size = sendBuffer { setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
    var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { close(fd); throw StalledSocket.Failure("connect") }
    return fd
}
