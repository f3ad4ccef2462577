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
                // Its report (or --json) says what was done; the log keeps to warnings and worse.
                var logger = Logger(label: "concord.tier")
                logger.logLevel = .warning
                let mover = TierMover(db: db, store: store, cellName: cell.name,
                                      defaultDays: cell.coldAfterDays, crashAfter: crashAfter, logger: logger)
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
                let progress = ProgressLine(json: options.json)
                let result = try await mover.run(now: Date().addingTimeInterval(aheadDays * 86400), dryRun: dryRun) { done, total, bucket in
                    progress.update("\(cell.name): tier run", done: done, total: total, "bucket \(bucket)")
                }
                progress.end()
                if options.json { return try report(true, TierRunFact(cell: cell.name, dryRun: dryRun, result)) {} }
                print("\(cell.name): \(dryRun ? "would archive" : "archived") \(result.files.count) file(s), \(result.rows) row(s); "
                      + "finished \(result.completed) interrupted move(s), rewrote \(result.rewritten) file(s), swept \(result.swept)")
                printTable(["bucket", "file", "rows", "archive bytes", "warm bytes"], result.files.map {
                    [String($0.bucket), $0.name, String($0.rows), String($0.bytes), String($0.warmBytes)]
                })
                let (bytes, warm) = result.files.reduce((Int64(0), Int64(0))) { ($0.0 + $1.bytes, $0.1 + $1.warmBytes) }
                if result.rows > 0 && !dryRun {
                    print(String(format: "storage: %.1f bytes per message in archives vs %.1f in PostgreSQL (table, TOAST, indexes): %.2f of the warm bytes",
                                 Double(bytes) / Double(result.rows), Double(warm) / Double(result.rows), Double(bytes) / Double(max(warm, 1))))
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
                alerting = alerting || !s.alerts.isEmpty
                if options.json { return try report(true, TierStatusFact(cell: cell.name, s)) {} }
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
                    try report(options.json, ["cell": cell.name, "archive": result.name, "problem": result.problem ?? "ok"]) {
                        print("\(cell.name) \(result.name): \(result.problem ?? "ok")")
                    }
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
                let rows = try await mover.restore(bucket: bucket)
                try report(options.json, JSONValue.object(["cell": .string(cell.name), "bucket": .int(Int64(bucket)), "rows": .int(rows)])) {
                    print("\(cell.name): restored \(rows) row(s) of bucket \(bucket)")
                }
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
                let after = days > 0 ? days : cell.coldAfterDays
                try report(options.json, JSONValue.object(["cell": .string(cell.name), "workspace": .string(id.description), "cold_after_days": .int(Int64(after))])) {
                    print("\(cell.name): workspace \(id) archives after \(after) days")
                }
            }
        }
    }
}

/// What `tier run` did in one cell, for `--json`.
struct TierRunFact: Encodable {
    struct File: Encodable { var bucket: Int; var name: String; var rows: Int64; var bytes: Int64; var warm_bytes: Int64 }
    var cell: String
    var dry_run: Bool
    var files: [File]
    var rows: Int64
    var finished_interrupted_moves: Int
    var rewritten_files: Int
    var swept: Int

    init(cell: String, dryRun: Bool, _ result: TierMover.Report) {
        self.cell = cell
        dry_run = dryRun
        files = result.files.map { File(bucket: $0.bucket, name: $0.name, rows: $0.rows, bytes: $0.bytes, warm_bytes: $0.warmBytes) }
        rows = result.rows
        finished_interrupted_moves = result.completed
        rewritten_files = result.rewritten
        swept = result.swept
    }
}

/// `tier status` of one cell, for `--json`.
struct TierStatusFact: Encodable {
    struct Alert: Encodable { var name: String; var problem: String; var seen_at: String }
    var cell: String
    var warm_rows: Int64
    var warm_bytes: Int64
    var oldest_warm_bucket: Int?
    var cold_rows: Int64
    var cold_bytes: Int64
    var cold_files: Int
    var unfinished_moves: Int
    var overrides: Int64
    var last_run_at: String?
    var last_run_rows: Int64?
    var alerts: [Alert]

    init(cell: String, _ s: TierStatus) {
        self.cell = cell
        warm_rows = s.warmRows; warm_bytes = s.warmBytes; oldest_warm_bucket = s.oldestWarmBucket
        cold_rows = s.coldRows; cold_bytes = s.coldBytes; cold_files = s.coldFiles
        unfinished_moves = s.copiedFiles; overrides = s.overrides
        last_run_at = s.lastRunAt.map(DiscordTimestamp.string(from:)); last_run_rows = s.lastRunRows
        alerts = s.alerts.map { Alert(name: $0.name, problem: $0.problem, seen_at: DiscordTimestamp.string(from: $0.seenAt)) }
    }
}
