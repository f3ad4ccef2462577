import ConcordModels
import Foundation
import PostgresNIO

/// What a cell's metrics read from its database: tier runs and what they moved, workspace
/// moves by phase. Each is a few rows or an aggregate over small tables, cheap enough per scrape.
public struct OperationsSummary: Sendable, Equatable {
    public var tierRuns: Int64 = 0
    public var tierArchivedRows: Int64 = 0
    public var tierLastRun: Date?
    public var coldFiles: Int64 = 0
    public var coldBytes: Int64 = 0
    public var tierAlerts: Int64 = 0
    public var movesByPhase: [String: Int64] = [:]
    public var lastMoveFreezeMilliseconds: Double?
    public var lastMoveTotalMilliseconds: Double?
}

extension SQLExecutor {
    public func operationsSummary() async throws -> OperationsSummary {
        var summary = OperationsSummary()
        if let row = try await run("""
            SELECT count(*), COALESCE(sum(row_count), 0)::bigint, max(finished_at),
                   (SELECT count(*) FROM archive_files WHERE state = 'cold'),
                   (SELECT COALESCE(sum(bytes), 0)::bigint FROM archive_files WHERE state = 'cold'),
                   (SELECT count(*) FROM tier_alerts)
            FROM tier_runs WHERE NOT dry_run
            """).first {
            (summary.tierRuns, summary.tierArchivedRows, summary.tierLastRun, summary.coldFiles, summary.coldBytes, summary.tierAlerts)
                = try row.decode((Int64, Int64, Date?, Int64, Int64, Int64).self)
        }
        for row in try await run("SELECT phase, count(*) FROM workspace_move_log GROUP BY phase") {
            let (phase, count) = try row.decode((String, Int64).self)
            summary.movesByPhase[phase] = count
        }
        if let row = try await run("SELECT freeze_ms, total_ms FROM workspace_move_log WHERE phase = 'done' ORDER BY id DESC LIMIT 1").first {
            (summary.lastMoveFreezeMilliseconds, summary.lastMoveTotalMilliseconds) = try row.decode((Double?, Double?).self)
        }
        return summary
    }

    /// Starts a move's entry in the source cell's log; answers its id.
    public func logMoveStarted(_ workspace: Snowflake, destination: Int) async throws -> Int64 {
        guard let row = try await run("""
            INSERT INTO workspace_move_log (workspace_id, destination, phase) VALUES (\(workspace.int64), \(destination), 'copy') RETURNING id
            """).first else { throw MoveError("the move log gave no id") }
        return try row.decode(Int64.self)
    }

    public func logMovePhase(_ id: Int64, _ phase: String, freezeMilliseconds: Double? = nil, totalMilliseconds: Double? = nil) async throws {
        try await run("""
            UPDATE workspace_move_log SET phase = \(phase), updated_at = now(),
                   freeze_ms = COALESCE(\(freezeMilliseconds), freeze_ms), total_ms = COALESCE(\(totalMilliseconds), total_ms)
            WHERE id = \(id)
            """)
    }
}
