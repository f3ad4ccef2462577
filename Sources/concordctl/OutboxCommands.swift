import ArgumentParser
import ConcordModels
import ConcordStorage
import Foundation

struct OutboxCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "outbox", abstract: "Cross-cell replication from the cells' outboxes.",
                                                    subcommands: [Status.self, Replay.self, Forget.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Per destination cell: how far its relay is behind each source, in rows for it and seconds.")
        @OptionGroup var options: CellOptions

        func run() async throws {
            let config = try ClusterConfig.load(path: options.config)
            var lags: [RelayLag] = []
            for destination in config.cells {
                for source in config.cells where source.id != destination.id {
                    let cursor = try await withDatabase(destination) { try await $0.relayCursor(source: source.id) }
                    // Behind in what the relay carries: a relay woken only for its own events
                    // moves its cursor over the source's other rows now and then, not each time.
                    let (head, backlog) = try await withDatabase(source) { db in
                        (try await db.outboxHead(), try await db.relayBacklog(after: cursor.seq, for: destination.id))
                    }
                    lags.append(RelayLag(from: source.name, to: destination.name, applied_through: cursor.seq, source_head: head,
                                         lag_rows: backlog.rows, lag_seconds: backlog.oldest.map { max(0, Date().timeIntervalSince($0)) } ?? 0))
                }
            }
            if options.json { return try lags.forEach { try report(true, $0) {} } }
            printTable(["from", "to", "applied through", "source head", "lag rows", "lag seconds"], lags.map {
                [$0.from, $0.to, String($0.applied_through), String($0.source_head), String($0.lag_rows), String(format: "%.1f", $0.lag_seconds)]
            })
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-applies a source's outbox from SEQ into a cell (safe: applying an event twice changes nothing).")
        @OptionGroup var options: CellOptions
        @Option(help: "The first outbox sequence to apply again.") var from: Int64
        @Option(help: "The destination cell.") var to: String
        @Option(help: "The source cell (default: every other cell).") var source: String?

        func run() async throws {
            let config = try ClusterConfig.load(path: options.config)
            guard let destination = config.cell(named: to) else { throw ValidationError("no cell named \(to)") }
            let sources = config.cells.filter { $0.id != destination.id && (source == nil || $0.name == source) }
            try await withDatabase(destination) { db in
                for source in sources {
                    try await db.setRelayCursor(source: source.id, seq: max(0, from - 1))
                    try report(options.json, JSONValue.object(["cell": .string(destination.name), "source": .string(source.name), "from": .int(from)])) {
                        print("\(destination.name): the relay applies \(source.name)'s outbox again from \(from)")
                    }
                }
            }
        }
    }

    struct Forget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stops a source keeping outbox rows for a destination's relay (a cell retired for good); its rows are then pruned after the retention.")
        @OptionGroup var options: CellOptions
        @Option(help: "The source cell whose outbox keeps the rows.") var source: String
        @Option(help: "The destination cell whose relay no longer follows it.") var destination: String

        func run() async throws {
            let config = try ClusterConfig.load(path: options.config)
            guard let cell = config.cell(named: source) else { throw ValidationError("no cell named \(source)") }
            try await withDatabase(cell) { try await $0.forgetOutboxFollower(OutboxFollower.consumer(OutboxFollower.relay(into: destination))) }
            try report(options.json, ["source": source, "forgotten_destination": destination]) {
                print("\(source): no longer keeps outbox rows for \(destination)'s relay")
            }
        }
    }
}

struct RelayLag: Encodable {
    var from: String
    var to: String
    var applied_through: Int64
    var source_head: Int64
    var lag_rows: Int64
    var lag_seconds: Double
}
