import Foundation

/// A delayed TCP link to a local port (scripts/delay_proxy.py, as `make run` uses between
/// regions), for the life of a test; `stop` cuts it, `restart` heals it on the same port.
struct DelayProxy: Sendable {
    let port: Int
    let target: Int
    let delayMilliseconds: Double
    let pid: pid_t
    /// Where what crossed is kept (`{recording}.out`, `{recording}.back`), when it is.
    var recording: String? = nil

    /// Every byte that crossed the link, both ways ("" when it is not recorded).
    var crossed: String {
        guard let recording else { return "" }
        return [".out", ".back"].map { (try? String(contentsOfFile: recording + $0, encoding: .isoLatin1)) ?? "" }.joined(separator: "\n")
    }

    static func start(to target: Int, delayMilliseconds: Double, port: Int? = nil, recording: String? = nil) async throws -> DelayProxy {
        let port = try port ?? TestServers.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestServers.repositoryRoot.appendingPathComponent("scripts/delay_proxy.py").path,
                             "--listen", String(port), "--to", "127.0.0.1:\(target)", "--delay-ms", String(delayMilliseconds)]
            + (recording.map { ["--record", $0] } ?? [])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 {
            if OwnRedis.isListening(port: port) {
                return DelayProxy(port: port, target: target, delayMilliseconds: delayMilliseconds, pid: process.processIdentifier, recording: recording)
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        kill(process.processIdentifier, SIGKILL)
        throw UnexpectedReply(description: "the delay proxy did not start on \(port)")
    }

    /// Cuts the link: the proxy and every connection through it are gone.
    func stop() { kill(pid, SIGKILL) }

    /// The same link again, on the same port.
    func restart() async throws -> DelayProxy {
        try await Self.start(to: target, delayMilliseconds: delayMilliseconds, port: port, recording: recording)
    }
}
