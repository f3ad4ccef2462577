import ConcordModels
import Foundation

/// A real `concord edge` process (the binary `swift build` made) joined to a test cluster, for
/// tests that must kill an edge the hard way: SIGKILL, no drain, no goodbye.
struct EdgeProcess {
    let url: String
    let pid: pid_t

    static var binary: String { TestServers.repositoryRoot.appendingPathComponent(".build/debug/concord").path }

    static func start(joining cluster: TestCluster) async throws -> EdgeProcess {
        let port = try TestServers.freePort()
        var config = cluster.config
        config.edges = [.init(name: "edge-process", region: "local", listen: .init(host: "127.0.0.1", port: port),
                              publicURL: "http://127.0.0.1:\(port)")]
        let directory = TestServers.scratch
        let path = directory + "/edge-\(port).json"
        try WireJSON.encode(config).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["edge", "--config", path, "--name", "edge-process", "--log-level", "error"]
        var env = ProcessInfo.processInfo.environment
        env["CONCORD_TOKEN_SECRET"] = String(decoding: cluster.secrets.tokenSecret, as: UTF8.self)
        env["CONCORD_INTERNAL_SECRET"] = cluster.secrets.internalSecret
        env["CONCORD_WEB_ROOT"] = TestServers.webRoot
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<400 {
            if OwnRedis.isListening(port: port) { return EdgeProcess(url: "http://127.0.0.1:\(port)", pid: process.processIdentifier) }
            try await Task.sleep(for: .milliseconds(25))
        }
        kill(process.processIdentifier, SIGKILL)
        throw UnexpectedReply(description: "the edge process did not start listening on \(port)")
    }

    func kill9() { _ = kill(pid, SIGKILL) }
}
