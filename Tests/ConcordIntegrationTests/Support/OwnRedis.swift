import Foundation

/// A Redis server of a test's own, so the test can stop and restart it without disturbing
/// other tests. It runs daemonized and is stopped by the pid in its pid file (Foundation's
/// `Process.waitUntilExit` can block a cooperative thread indefinitely on Linux).
struct OwnRedis: Sendable {
    let port: Int
    let directory: String
    var pidFile: String { directory + "/redis.pid" }

    init() throws {
        port = try TestServers.freePort()
        let scratch = TestServers.scratch
        directory = scratch + "/redis-own-\(port)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func start(password: String? = nil) async throws {
        let launcher = Process()
        launcher.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        launcher.arguments = ["redis-server", "--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no",
                              "--daemonize", "yes", "--pidfile", pidFile, "--dir", directory, "--logfile", directory + "/redis.log"]
            + (password.map { ["--requirepass", $0] } ?? [])
        try launcher.run()
        for _ in 0..<200 {
            if Self.isListening(port: port) { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw NSError(domain: "OwnRedis", code: 1, userInfo: [NSLocalizedDescriptionKey: "redis-server did not start on \(port)"])
    }

    func stop() async {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return }
        kill(pid, SIGKILL)
        for _ in 0..<200 where kill(pid, 0) == 0 || Self.isListening(port: port) {
            try? await Task.sleep(for: .milliseconds(25))
        }
        try? FileManager.default.removeItem(atPath: pidFile)
    }

    static func isListening(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
