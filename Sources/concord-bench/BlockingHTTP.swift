import Dispatch
import Foundation
import Glibc
import Synchronization

/// One kept-alive HTTP/1.1 connection on a blocking socket, for a load generator's thread: a
/// request is one write and a read or two, and the answer is found by its head's
/// Content-Length. AsyncHTTPClient cost the generator 0.12–0.14 ms of CPU per request, about as
/// much as PostgreSQL spent on the send, on the 2 cores the generator shares with the servers it
/// measures (pgbench's own client, its reference, costs a fraction of that).
final class BlockingHTTPConnection {
    let host: String
    let port: Int
    private var socket: Int32 = -1
    private var received: [UInt8] = []
    private var scratch = [UInt8](repeating: 0, count: 64 << 10)
    /// Past this, an answer's head or body is not one the edge would send.
    static let largestAnswer = 8 << 20

    struct Failure: Error { let what: String }

    /// `baseURL`: `http://host:port` (no TLS: the benchmarks run on loopback).
    init(baseURL: String) throws {
        guard let url = URL(string: baseURL), url.scheme == "http", let host = url.host, let port = url.port else {
            throw Failure(what: "an http://host:port URL, not \(baseURL)")
        }
        self.host = host
        self.port = port
    }

    deinit { if socket >= 0 { close(socket) } }

    /// The bytes of one request with a body (`Host`, `Content-Length` and the keep-alive are added).
    func request(method: String, path: String, headers: [(String, String)], body: [UInt8]) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        return Array((head + "\r\n").utf8) + body
    }

    /// Sends a request and reads its answer; answers the status. A broken connection is opened
    /// again once for the next call (the request that met it fails).
    func exchange(_ request: [UInt8]) throws -> Int {
        do {
            if socket < 0 { try connect() }
            try writeAll(request)
            return try readAnswer()
        } catch {
            if socket >= 0 { close(socket); socket = -1 }
            received = []
            throw error
        }
    }

    private func connect() throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(what: "socket") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1 else {
            close(fd); throw Failure(what: "an IPv4 address, not \(host)")
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw Failure(what: "connect to \(host):\(port)") }
        socket = fd
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(what: "send") }
            sent += n
        }
    }

    private func readMore() throws {
        let n = recv(socket, &scratch, scratch.count, 0)
        guard n > 0 else { throw Failure(what: n == 0 ? "the server closed the connection" : "recv") }
        received += scratch[0..<n]
        guard received.count <= Self.largestAnswer else { throw Failure(what: "an answer past \(Self.largestAnswer) bytes") }
    }

    /// Reads one answer's head and its Content-Length of body; leaves nothing behind.
    private func readAnswer() throws -> Int {
        let blank = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            try readMore()
            headEnd = received.withUnsafeBytes { ByteSearch.end(of: blank, in: $0) }
        }
        let head = String(decoding: received[..<headEnd!], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.1 "),
              let status = Int(statusLine.dropFirst(9).prefix(3)) else { throw Failure(what: "a status line") }
        // The edge names the length of every answer (no chunks: its bodies are whole buffers).
        guard let lengthLine = lines.first(where: { $0.lowercased().hasPrefix("content-length:") }),
              let length = Int(lengthLine.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)),
              length >= 0 else { throw Failure(what: "a Content-Length") }
        while received.count < headEnd! + length { try readMore() }
        guard received.count == headEnd! + length else { throw Failure(what: "an answer with nothing after it") }
        received.removeAll(keepingCapacity: true)
        return status
    }
}

/// Runs `clients` threads for `seconds`, each with its own connection; with a `rate`, paced to
/// that many calls per second in total (open loop). `once` answers the status of one call.
func driveThreads(baseURL: String, clients: Int, seconds: Double, rate: Double?,
                  _ once: @escaping @Sendable (_ connection: BlockingHTTPConnection, _ client: Int, _ n: Int) throws -> Int) async throws -> Samples {
    _ = try BlockingHTTPConnection(baseURL: baseURL)  // a bad URL stops the run here, not in each thread
    let start = ContinuousClock.now
    let end = start + .milliseconds(Int(seconds * 1000))
    return await withTaskGroup(of: Samples.self) { group in
        for client in 0..<clients {
            group.addTask {
                await withCheckedContinuation { continuation in
                    Thread.detachNewThread {
                        var samples = Samples()
                        guard let connection = try? BlockingHTTPConnection(baseURL: baseURL) else {
                            samples.errors += 1
                            return continuation.resume(returning: samples)
                        }
                        let interval = rate.map { Duration.microseconds(Int(Double(clients) / $0 * 1_000_000)) }
                        var next = start + (interval.map { $0 * Double(client) / Double(clients) } ?? .zero)
                        var n = 0
                        while ContinuousClock.now < end {
                            if let interval {
                                let wait = next - ContinuousClock.now
                                if wait > .zero { Thread.sleep(forTimeInterval: wait.inSeconds) }
                                next += interval
                            }
                            let t0 = ContinuousClock.now
                            do {
                                if try once(connection, client, n) == 200 {
                                    samples.micros.append((ContinuousClock.now - t0).inSeconds * 1e6)
                                } else {
                                    samples.errors += 1
                                }
                            } catch {
                                // No connection: a pause, so a server that is down is not met with a busy loop.
                                samples.errors += 1
                                Thread.sleep(forTimeInterval: 0.01)
                            }
                            n += 1
                        }
                        continuation.resume(returning: samples)
                    }
                }
            }
        }
        var all = Samples()
        for await s in group { all.merge(s) }
        return all
    }
}

/// Calls `once` for k = 0..<count, the k-th due `k / rate` seconds after `start` (uptime
/// nanoseconds), from `connections` threads with a connection each to `baseURL`: open loop, as
/// long as fewer than `connections` calls are unanswered at once. `once` answers the call's
/// status; `done` gets each call's k, start, end and status (nil: no answer).
func callOpenLoop(baseURL: String, count: Int, rate: Double, connections: Int, start: UInt64,
                  _ once: @escaping @Sendable (BlockingHTTPConnection, Int) throws -> Int,
                  done: @escaping @Sendable (_ k: Int, _ start: UInt64, _ end: UInt64, _ status: Int?) -> Void) async throws {
    _ = try BlockingHTTPConnection(baseURL: baseURL)  // a bad URL stops the run here, not in each thread
    let next = NextCall()
    await withTaskGroup(of: Void.self) { group in
        for _ in 0..<connections {
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    Thread.detachNewThread {
                        let connection = try? BlockingHTTPConnection(baseURL: baseURL)
                        while true {
                            let k = next.k.wrappingAdd(1, ordering: .relaxed).oldValue
                            guard k < count else { break }
                            let due = start + UInt64(Double(k) / rate * 1e9)
                            let now = DispatchTime.now().uptimeNanoseconds
                            if due > now { usleep(UInt32((due - now) / 1000)) }
                            let began = DispatchTime.now().uptimeNanoseconds
                            let status = connection.flatMap { try? once($0, k) }
                            done(k, began, DispatchTime.now().uptimeNanoseconds, status)
                        }
                        continuation.resume()
                    }
                }
            }
        }
    }
}

/// The next call's k, shared by the threads of `callOpenLoop`.
private final class NextCall: Sendable {
    let k = Atomic<Int>(0)
}

extension Duration {
    /// As seconds with their fraction.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
