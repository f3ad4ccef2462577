import ArgumentParser
import ConcordModels
import ConcordStorage
import ConcordTiering
import Foundation
import Logging

struct TierCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tier", abstract: "Message tiers: archive old buckets, check archives, bring buckets back.",
        subcommands: [Run.self, Status.self, Verify.self, Restore.self, Policy.self])

    /// Runs `body` with a tier mover for each selected cell.
    static func withMover(_ options: CellOptions, _ body: (ClusterConfig.Cell, Database, TierMover) async throws -> Void) async throws {
        for cell in try options.selectedCells() {
            let crashAfter = ProcessInfo.processInfo.environment["CONCORD_TIER_CRASH_AFTER"].flatMap(TierMover.Step.init(rawValue:))
            let store = try CellStores.archives(of: cell, keys: ClusterSecrets.objectStoreKeys())
            try await withDatabase(cell) { db in
                let mover = TierMover(db: db, store: store, cellName: cell.name,
                                      defaultDays: cell.coldAfterDays, crashAfter: crashAfter)
                try await body(cell, db, mover)
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Archives the buckets older than the policy (finishing any interrupted move first).")
        @OptionGroup var options: CellOptions
        @Flag(help: "Show what would be archived, change nothing.") var dryRun = false
        @Option(help: "Pretend the time is this many days later (to try policies on fresh data).") var aheadDays: Double = 0

        func run() async throws {
            try await TierCommands.withMover(options) { cell, _, mover in
                let report = try await mover.run(now: Date().addingTimeInterval(aheadDays * 86400), dryRun: dryRun)
                print("\(cell.name): \(dryRun ? "would archive" : "archived") \(report.files.count) file(s), \(report.rows) row(s); "
                      + "finished \(report.completed) interrupted move(s), rewrote \(report.rewritten) file(s), swept \(report.swept)")
                printTable(["bucket", "file", "rows", "archive bytes", "warm bytes"], report.files.map {
                    [String($0.bucket), $0.name, String($0.rows), String($0.bytes), String($0.warmBytes)]
                })
                let (bytes, warm) = report.files.reduce((Int64(0), Int64(0))) { ($0.0 + $1.bytes, $0.1 + $1.warmBytes) }
                if report.rows > 0 && !dryRun {
                    print(String(format: "storage: %.1f bytes per message in archives vs %.1f in PostgreSQL (table, TOAST, indexes): %.2f of the warm bytes",
                                 Double(bytes) / Double(report.rows), Double(warm) / Double(report.rows), Double(bytes) / Double(max(warm, 1))))
                }
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rows and bytes per tier, oldest warm bucket, last run, alerts.")
        @OptionGroup var options: CellOptions

        func run() async throws {
            var alerting = false
            try await TierCommands.withMover(options) { cell, db, _ in
                let s = try await db.tierStatus()
                print("\(cell.name):")
                printTable(["tier", "rows", "bytes", "note"], [
                    ["warm", String(s.warmRows), String(s.warmBytes),
                     s.oldestWarmBucket.map { "oldest bucket \($0) (\(Self.date(ofBucket: $0)))" } ?? "empty"],
                    ["cold", String(s.coldRows), String(s.coldBytes),
                     "\(s.coldFiles) file(s), \(s.copiedFiles) move(s) unfinished, \(s.overrides) edit(s)/deletion(s) to fold in"],
                ])
                print("last run: " + (s.lastRunAt.map { "\(DiscordTimestamp.string(from: $0)), \(s.lastRunRows ?? 0) row(s) archived" } ?? "never"))
                for alert in s.alerts {
                    print("ALERT \(alert.name): \(alert.problem) (seen \(DiscordTimestamp.string(from: alert.seenAt)))")
                }
                alerting = alerting || !s.alerts.isEmpty
            }
            if alerting { throw ExitCode(2) }
        }

        static func date(ofBucket bucket: Int) -> String {
            let ms = UInt64(bucket) * Snowflake.bucketMilliseconds + Snowflake.discordEpochMilliseconds
            return DiscordTimestamp.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-reads every archive against its checksums.")
        @OptionGroup var options: CellOptions

        func run() async throws {
            var failed = 0
            try await TierCommands.withMover(options) { cell, _, mover in
                for result in try await mover.verifyAll() {
                    print("\(cell.name) \(result.name): \(result.problem ?? "ok")")
                    if result.problem != nil { failed += 1 }
                }
            }
            if failed > 0 { throw ExitCode(2) }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Brings an archived bucket back to PostgreSQL.")
        @OptionGroup var options: CellOptions
        @Option(help: "The bucket number (as `tier status` and `tier run` print it).") var bucket: Int

        func run() async throws {
            try await TierCommands.withMover(options) { cell, _, mover in
                print("\(cell.name): restored \(try await mover.restore(bucket: bucket)) row(s) of bucket \(bucket)")
            }
        }
    }

    struct Policy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sets how many days a workspace's messages stay warm (--days 0: the cell's default).")
        @OptionGroup var options: CellOptions
        @Option(help: "The workspace id.") var workspace: String
        @Option(help: "Days before a bucket is archived.") var days: Int

        func run() async throws {
            let id = try parseID(workspace, "--workspace")
            try await TierCommands.withMover(options) { cell, db, _ in
                try await db.setTierPolicy(workspaceID: id, coldAfterDays: days > 0 ? days : nil)
                print("\(cell.name): workspace \(id) archives after \(days > 0 ? days : cell.coldAfterDays) days")
            }
        }
    }
}
