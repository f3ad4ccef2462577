import ArgumentParser
import AsyncHTTPClient
import ConcordModels
import Foundation
import NIOCore
import NIOHTTP1

/// Load generators for `make bench`. They talk to a running edge over HTTP and print figures;
/// `scripts/bench.sh` starts the servers, seeds data and runs pgbench for comparison.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concord-bench", abstract: "Concord's benchmark clients.",
        subcommands: [Sends.self, History.self, Fanout.self, Heartbeats.self, Get.self, Tiers.self])
}

struct Target: ParsableArguments {
    @Option(help: "The edge's base URL.") var edge: String = "http://127.0.0.1:58080"
    @Option(help: "A file with one Authorization header value per line (one per client).") var tokens: String
    @Option(help: "The channel to use.") var channel: String
    @Option(help: "Concurrent clients.") var clients: Int = 16
    @Option(help: "Seconds to run.") var seconds: Double = 10

    func tokenList() throws -> [String] {
        try String(contentsOfFile: tokens, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }
}

/// Latencies in microseconds; percentiles by sorting (runs are small enough).
struct Samples {
    var micros: [Double] = []
    var errors = 0
    mutating func merge(_ other: Samples) { micros += other.micros; errors += other.errors }
    func percentile(_ p: Double) -> Double {
        guard !micros.isEmpty else { return .nan }
        let sorted = micros.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
    }
    func report(_ label: String, seconds: Double) {
        print(String(format: "%@: %d ok, %d errors in %.1f s = %.0f req/s; latency p50 %.2f ms, p99 %.2f ms",
                     label, micros.count, errors, seconds, Double(micros.count) / seconds,
                     percentile(0.50) / 1000, percentile(0.99) / 1000))
    }
}

func makeClient(_ clients: Int) -> HTTPClient {
    var config = HTTPClient.Configuration()
    config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: clients)
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config)
}

/// This process's CPU time (user and system), for the load generator's own share of a run.
func processCPUMilliseconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func ms(_ t: timeval) -> Double { Double(t.tv_sec) * 1000 + Double(t.tv_usec) / 1000 }
    return ms(usage.ru_utime) + ms(usage.ru_stime)
}

func timed(_ http: HTTPClient, _ request: HTTPClientRequest) async -> Double? {
    let t0 = ContinuousClock.now
    do {
        let response = try await http.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 4 << 20)
        guard response.status == .ok else { return nil }
        return (ContinuousClock.now - t0).inSeconds * 1e6
    } catch {
        return nil
    }
}

struct Sends: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Clients posting messages as fast as they can, or paced to --paced-rate.")
    @OptionGroup var target: Target
    @Option(help: "Pace the clients to this many messages per second in total.") var pacedRate: Double?
    @Option(help: "A file this command creates when the warm-up is over and the measured sends start.") var measuringFile: String?

    func run() async throws {
        let tokens = try target.tokenList()
        let path = "/api/v10/channels/\(target.channel)/messages"
        let once: @Sendable (BlockingHTTPConnection, Int, Int) throws -> Int = { connection, client, n in
            let body = #"{"content":"bench message \#(client)-\#(n)","nonce":"\#(client)-\#(n)"}"#
            return try connection.exchange(connection.request(method: "POST", path: path,
                                                              headers: [("Authorization", tokens[client % tokens.count]),
                                                                        ("Content-Type", "application/json")],
                                                              body: Array(body.utf8)))
        }
        _ = try await driveThreads(baseURL: target.edge, clients: target.clients, seconds: 1, rate: pacedRate, once)  // warm-up
        if let measuringFile { _ = FileManager.default.createFile(atPath: measuringFile, contents: Data()) }
        let cpuBefore = processCPUMilliseconds()
        let samples = try await driveThreads(baseURL: target.edge, clients: target.clients, seconds: target.seconds, rate: pacedRate, once)
        let cpu = processCPUMilliseconds() - cpuBefore
        let label = pacedRate.map { String(format: "sends, %d clients paced to %.0f/s", target.clients, $0) }
            ?? "sends, \(target.clients) clients unpaced"
        samples.report(label, seconds: target.seconds)
        print(String(format: "load generator CPU per request: %.2f ms", cpu / Double(max(1, samples.micros.count + samples.errors))))
    }
}

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Clients reading random 50-message pages of a channel's history.")
    @OptionGroup var target: Target
    @Option(help: "The oldest message id of the channel.") var oldest: UInt64
    @Option(help: "The newest message id of the channel.") var newest: UInt64

    func run() async throws {
        let tokens = try target.tokenList()
        let (channel, oldest, newest) = (target.channel, oldest, newest)
        let once: @Sendable (BlockingHTTPConnection, Int, Int) throws -> Int = { connection, client, _ in
            let before = UInt64.random(in: oldest...newest)
            return try connection.exchange(connection.request(method: "GET", path: "/api/v10/channels/\(channel)/messages?limit=50&before=\(before)",
                                                              headers: [("Authorization", tokens[client % tokens.count])], body: []))
        }
        _ = try await driveThreads(baseURL: target.edge, clients: target.clients, seconds: 1, rate: nil, once)
        let samples = try await driveThreads(baseURL: target.edge, clients: target.clients, seconds: target.seconds, rate: nil, once)
        samples.report("history pages (limit=50, random before=), \(target.clients) clients", seconds: target.seconds)
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Clients repeating one GET (e.g. /users/@me/read-states).")
    @Option(help: "The edge's base URL.") var edge: String = "http://127.0.0.1:58080"
    @Option(help: "The Authorization value.") var token: String
    @Option(help: "The path under /api/v10.") var path: String
    @Option var clients: Int = 8
    @Option var seconds: Double = 10
    @Flag(name: .customLong("at-cell"), help: "--edge is a cell's internal API: send the internal secret (CONCORD_INTERNAL_SECRET).") var atCell = false

    func run() async throws {
        let (path, token) = ("/api/v10\(path)", self.token)
        let secret = atCell ? ProcessInfo.processInfo.environment["CONCORD_INTERNAL_SECRET"] : nil
        let headers = [("Authorization", token)] + (secret.map { [("X-Concord-Internal", $0)] } ?? [])
        let once: @Sendable (BlockingHTTPConnection, Int, Int) throws -> Int = { connection, _, _ in
            try connection.exchange(connection.request(method: "GET", path: path, headers: headers, body: []))
        }
        _ = try await driveThreads(baseURL: edge, clients: clients, seconds: 1, rate: nil, once)
        let samples = try await driveThreads(baseURL: edge, clients: clients, seconds: seconds, rate: nil, once)
        samples.report("GET \(self.path) \(atCell ? "at the cell directly" : "through the edge"), \(clients) clients", seconds: seconds)
    }
}
