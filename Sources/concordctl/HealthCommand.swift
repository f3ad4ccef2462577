import ArgumentParser
import AsyncHTTPClient
import ConcordModels
import ConcordObservability
import Foundation
import NIOCore

/// The cluster's health in one table: every process with an admin listener (cells, relays,
/// edges), whether it answers and is ready (its dependencies reachable), and the figures that
/// say how it is doing, read from its metrics.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "health",
        abstract: "Every cell, relay and edge: alive, ready (and what is not), and its key figures; exits 1 if any is not ready.")
    @OptionGroup var options: CellOptions

    struct ProcessHealth: Encodable, Sendable {
        var process: String
        var kind: String
        var region: String
        var url: String
        var alive: Bool
        var ready: Bool
        var detail: String
        var figures: [String: Double]
    }

    /// What each kind of process is judged by (metric name → the column it is shown as).
    static let figures: [String: [(MetricName, String)]] = [
        "cell": [(.outboxLag, "outbox lag rows"), (.postgresConnectionsInUse, "pg connections"), (.redisReconnects, "redis reconnects"),
                 (.tierAlerts, "tier alerts")],
        "relay": [(.relayLagRows, "lag rows"), (.relayLagSeconds, "lag s")],
        "edge": [(.gatewaySessions, "sessions"), (.redisReconnects, "redis reconnects")],
    ]

    func run() async throws {
        let config = try ClusterConfig.load(path: options.config)
        var targets: [(String, String, String, ClusterConfig.Endpoint)] = []
        for cell in config.cells {
            if let admin = cell.admin { targets.append((cell.name, "cell", cell.region, admin)) }
            if let admin = cell.relay_admin { targets.append(("relay-" + cell.name, "relay", cell.region, admin)) }
        }
        for edge in config.edges { if let admin = edge.admin { targets.append((edge.name, "edge", edge.region, admin)) } }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var rows: [ProcessHealth] = []
        for (name, kind, region, admin) in targets {
            let url = "http://\(admin.host == "0.0.0.0" ? "127.0.0.1" : admin.host):\(admin.port)"
            var row = ProcessHealth(process: name, kind: kind, region: region, url: url, alive: false, ready: false, detail: "", figures: [:])
            if let (status, text) = await get(client, url + "/readyz") {
                row.alive = true
                row.ready = status == 200
                row.detail = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if let (_, metrics) = await get(client, url + "/metrics") {
                    for (metric, column) in Self.figures[kind] ?? [] { row.figures[column] = Self.sum(metric.rawValue, in: metrics) }
                }
            } else {
                row.detail = "no answer"
            }
            rows.append(row)
        }
        try await client.shutdown()
        if options.json {
            for row in rows { try report(true, row) {} }
        } else {
            printTable(["process", "kind", "region", "alive", "ready", "figures", "detail"], rows.map { row in
                [row.process, row.kind, row.region, row.alive ? "yes" : "NO", row.ready ? "yes" : "NO",
                 row.figures.sorted { $0.key < $1.key }.map { "\($0.key) \(Self.format($0.value))" }.joined(separator: ", "), row.detail]
            })
        }
        if rows.contains(where: { !$0.ready }) { throw ExitCode(1) }
    }

    func get(_ client: HTTPClient, _ url: String) async -> (Int, String)? {
        guard let response = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(3)),
              let body = try? await response.body.collect(upTo: 4 << 20) else { return nil }
        return (Int(response.status.code), String(buffer: body))
    }

    /// The sum of every series of `name` in a Prometheus text exposition (across its labels).
    static func sum(_ name: String, in text: String) -> Double? {
        var total: Double?
        for line in text.split(separator: "\n") where line.hasPrefix(name) && !line.hasPrefix("#") {
            let rest = line.dropFirst(name.count)
            guard rest.first == " " || rest.first == "{", let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            total = (total ?? 0) + value
        }
        return total
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.2f", value)
    }
}
