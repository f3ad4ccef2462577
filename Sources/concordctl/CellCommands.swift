import ArgumentParser
import ConcordCell
import ConcordModels
import ConcordRedis
import ConcordStorage
import Foundation

struct CellCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cell", abstract: "Cells.", subcommands: [Status.self])

    struct CellHealth: Encodable, Sendable {
        var cell: String
        var database: String
        var redis: String
        var outbox_head_seq: Int64?
        var outbox_published_seq: Int64?
        var outbox_unsequenced: Int?
        var oldest_unpublished_at: String?
        var oldest_unpublished_age_seconds: Double?
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Database and Redis reachability and outbox progress of each cell.")
        @OptionGroup var options: CellOptions

        func run() async throws {
            let cells = try options.selectedCells()
            var report: [CellHealth] = []
            for cell in cells { report.append(await health(cell)) }
            if options.json { return try printJSON(report) }
            printTable(["cell", "database", "redis", "outbox head", "published", "unsequenced", "oldest unpublished"], report.map {
                [$0.cell, $0.database, $0.redis, $0.outbox_head_seq.map(String.init) ?? "-", $0.outbox_published_seq.map(String.init) ?? "-",
                 $0.outbox_unsequenced.map(String.init) ?? "-",
                 $0.oldest_unpublished_age_seconds.map { String(format: "%.1fs ago", $0) } ?? "none"]
            })
            if report.contains(where: { $0.database != "ok" || $0.redis != "ok" }) { throw ExitCode(1) }
        }

        func health(_ cell: ClusterConfig.Cell) async -> CellHealth {
            var health = CellHealth(cell: cell.name, database: "ok", redis: "ok")
            do {
                let redis = try cellRedis(cell)
                var failure: (any Error)?
                do { _ = try await redis.send("PING") } catch { failure = error }
                await redis.close()
                if let failure { throw failure }
            } catch {
                health.redis = "unreachable (\(error))"
            }
            do {
                let status = try await withTimeout(.seconds(5)) {
                    try await withDatabase(cell) { try await $0.outboxStatus(publisher: OutboxPublisher.consumer) }
                }
                health.outbox_head_seq = status.headSeq
                health.outbox_published_seq = status.cursors[OutboxPublisher.consumer] ?? 0
                health.outbox_unsequenced = status.unsequenced
                health.oldest_unpublished_at = status.oldestUnpublishedAt.map(DiscordTimestamp.string(from:))
                health.oldest_unpublished_age_seconds = status.oldestUnpublishedAt.map { Date().timeIntervalSince($0) }
            } catch {
                health.database = "unreachable (\(error))"
            }
            return health
        }
    }
}

func withTimeout<T: Sendable>(_ limit: Duration, _ body: @Sendable @escaping () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask { try await Task.sleep(for: limit); throw CancellationError() }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
