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

    /// Starts the proxy on `port`, or on a free port of its choosing: a proxy that exits before it
    /// listens (its port taken by another process meanwhile) is tried again on another port.
    static func start(to target: Int, delayMilliseconds: Double, port: Int? = nil, recording: String? = nil) async throws -> DelayProxy {
        var failure = ""
        for _ in 0..<(port == nil ? 3 : 1) {
            let listen = try port ?? TestServers.freePort()
            let errors = TestServers.scratch + "/delay-proxy-\(listen)-\(UUID().uuidString).err"
            _ = FileManager.default.createFile(atPath: errors, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", TestServers.repositoryRoot.appendingPathComponent("scripts/delay_proxy.py").path,
                                 "--listen", String(listen), "--to", "127.0.0.1:\(target)", "--delay-ms", String(delayMilliseconds)]
                + (recording.map { ["--record", $0] } ?? [])
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle(forWritingAtPath: errors)
            try process.run()
            // A loaded machine (browsers and clusters of other tests) can take seconds to start Python.
            for _ in 0..<1200 where process.isRunning {
                if OwnRedis.isListening(port: listen) {
                    return DelayProxy(port: listen, target: target, delayMilliseconds: delayMilliseconds, pid: process.processIdentifier, recording: recording)
                }
                try await Task.sleep(for: .milliseconds(25))
            }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            failure = "on \(listen): " + ((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")
        }
        throw UnexpectedReply(description: "the delay proxy did not start \(failure)")
    }

    /// Cuts the link: the proxy and every connection through it are gone.
    func stop() { kill(pid, SIGKILL) }

    /// The same link again, on the same port.
    func restart() async throws -> DelayProxy {
        try await Self.start(to: target, delayMilliseconds: delayMilliseconds, port: port, recording: recording)
    }
}
