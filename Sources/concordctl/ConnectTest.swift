import ArgumentParser
import AsyncHTTPClient
import ConcordModels
import Foundation

/// Which edge a client here should use: the one answering fastest, measured like a client
/// would (round trips to each edge `GET /edges` lists).
struct ConnectTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "connect-test",
        abstract: "Measures round trips to every edge (as GET /api/v10/edges lists them) and names the nearest.")
    @Option(help: "Any edge's base URL.") var edge: String = "http://127.0.0.1:58080"
    @Option(help: "Round trips per edge (the median counts).") var samples: Int = 7
    @Flag(help: "Print JSON instead of a table.") var json = false

    struct Listing: Codable { var name: String; var region: String; var url: String }
    struct Result: Codable { var name: String; var region: String; var url: String; var median_ms: Double? }
    struct Report: Codable { var edges: [Result]; var nearest: String? }

    func run() async throws {
        let edges = try JSONDecoder().decode([Listing].self, from: try await Self.get(edge + "/api/v10/edges").0)
        var results: [Result] = []
        for listed in edges {
            var times: [Double] = []
            for _ in 0..<max(1, samples) {
                if let (_, elapsed) = try? await Self.get(listed.url + "/api/v10/gateway") { times.append(elapsed) }
            }
            times.sort()
            results.append(Result(name: listed.name, region: listed.region, url: listed.url, median_ms: times.isEmpty ? nil : times[times.count / 2]))
        }
        let nearest = Self.nearest(results)
        if json { return try printJSON(Report(edges: results, nearest: nearest?.name)) }
        printTable(["edge", "region", "url", "median round trip"], results.map {
            [$0.name, $0.region, $0.url, $0.median_ms.map { String(format: "%.2f ms", $0) } ?? "unreachable"]
        })
        guard let nearest else { throw ValidationError("no edge answered") }
        print("nearest: \(nearest.name) (region \(nearest.region)) \(nearest.url)")
    }

    /// The reachable edge with the smallest median round trip.
    static func nearest(_ results: [Result]) -> Result? {
        results.filter { $0.median_ms != nil }.min { $0.median_ms! < $1.median_ms! }
    }

    static func get(_ url: String) async throws -> (Data, Double) {
        let started = ContinuousClock.now
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw ValidationError("\(url) did not answer 200") }
        let elapsed = ContinuousClock.now - started
        return (Data(body.readableBytesView), Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
    }
}
