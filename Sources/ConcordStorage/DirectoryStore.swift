import ConcordModels
import PostgresNIO

extension SQLExecutor {
    /// Directory entries newer than `version`.
    public func directoryEntries(after version: Int64 = Int64.min) async throws -> [DirectoryEntry] {
        try await run("""
            SELECT key, workspace_id, cell_id, version, since_seq FROM directory WHERE version > \(version) ORDER BY version
            """).map { row in
            let (key, workspace, cell, version, since) = try row.decode((String, Int64, Int, Int64, Int64).self)
            return DirectoryEntry(key: key, workspaceID: Snowflake(int64: workspace), cellID: cell, version: version, sinceSeq: since)
        }
    }

    public func directoryVersion() async throws -> Int64 {
        try await run("SELECT COALESCE(max(version), 0) FROM directory").first?.decode(Int64.self) ?? 0
    }

    /// Records entries; an entry older than the one held for its key is ignored.
    public func recordDirectory(_ entries: [DirectoryEntry]) async throws {
        for entry in entries {
            try await run("""
                INSERT INTO directory (key, workspace_id, cell_id, version, since_seq)
                VALUES (\(entry.key), \(entry.workspace_id.int64), \(entry.cell_id), \(entry.version), \(entry.since_seq))
                ON CONFLICT (key) DO UPDATE SET workspace_id = EXCLUDED.workspace_id, cell_id = EXCLUDED.cell_id,
                    version = EXCLUDED.version, since_seq = EXCLUDED.since_seq
                WHERE directory.version < EXCLUDED.version
                """)
        }
    }

    /// In the cell a workspace leaves: from now on its writes are refused here.
    public func markMovedAway(_ workspace: Snowflake, to cell: Int) async throws {
        try await run("""
            INSERT INTO moved_workspaces (workspace_id, to_cell) VALUES (\(workspace.int64), \(cell))
            ON CONFLICT (workspace_id) DO UPDATE SET to_cell = EXCLUDED.to_cell, moved_at = now(), removed_at = NULL
            """)
    }

    /// In the cell a workspace arrives in (it may have lived here before).
    public func clearMovedAway(_ workspace: Snowflake) async throws {
        try await run("DELETE FROM moved_workspaces WHERE workspace_id = \(workspace.int64)")
    }

    public func markOldCopyRemoved(_ workspace: Snowflake) async throws {
        try await run("UPDATE moved_workspaces SET removed_at = now() WHERE workspace_id = \(workspace.int64)")
    }
}

public enum MovedWorkspace {
    /// The SQLSTATE of a write refused because its workspace has moved (migration 010's trigger).
    public static let refusedWrite = "CC421"
}
