import ArgumentParser
import Dispatch
import Foundation
import NIOPosix

/// Presence load: S sessions connected and heartbeating at the interval HELLO gives (Discord's
/// 41.25 s), nothing else. Prints the edge's CPU over the window; the script reads Redis's
/// command counter around it.
struct Heartbeats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "S idle gateway sessions heartbeating; the edge's CPU while they do.")
    @Option(help: "The edge's base URL.") var edge: String = "http://127.0.0.1:58080"
    @Option(help: "A file with one Authorization value per line; sessions cycle through them.") var tokens: String
    @Option var sessions: Int = 10_000
    @Option(help: "Seconds to measure once every session is ready.") var seconds: Double = 60
    @Option(help: "The edge's process id.") var edgePid: Int32
    @Option(help: "A file this command creates when the measured window starts.") var startedFile: String?

    func run() async throws {
        let tokenList = try String(contentsOfFile: tokens, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        guard let url = URL(string: edge), let host = url.host, let port = url.port else { throw ValidationError("bad --edge") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let logs = (0..<sessions).map { _ in SessionLog() }
        let connected = await SessionPool.connect(logs, tokens: tokenList, host: host, port: port, concurrency: 100,
                                                  group: group, label: "heartbeats")
        // Let the identify burst settle before measuring the steady state.
        try await Task.sleep(for: .seconds(5))
        if let startedFile { _ = FileManager.default.createFile(atPath: startedFile, contents: Data()) }
        let before = ProcessStats.cpuSeconds(edgePid) ?? 0
        let start = DispatchTime.now().uptimeNanoseconds
        try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        let cpu = (ProcessStats.cpuSeconds(edgePid) ?? 0) - before
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let closed = logs.filter { $0.closeCode.load(ordering: .relaxed) != 0 }.count
        print(String(format: "heartbeats: %d sessions heartbeating every 41.25 s for %.0f s: edge CPU %.1f%% of one core (%.2f heartbeats/s per session), %d sessions closed",
                     connected, wall, cpu / wall * 100, 1 / 41.25, closed))
        try await group.shutdownGracefully()
    }
}
