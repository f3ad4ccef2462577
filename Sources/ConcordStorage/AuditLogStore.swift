import ConcordModels
import Foundation
import PostgresNIO

/// A workspace's audit log.
extension SQLExecutor {
    public func insertAuditEntry(_ entry: AuditLogEntry, workspaceID: Snowflake) async throws {
        let changes = try entry.changes.map { try WireJSON.encodeString($0) }
        let options = try entry.options.map { try WireJSON.encodeString($0) }
        try await run("""
            INSERT INTO audit_log (id, workspace_id, user_id, target_id, action_type, changes, options, reason)
            VALUES (\(entry.id.int64), \(workspaceID.int64), \(entry.user_id?.int64), \(entry.target_id?.int64), \(entry.action_type),
                    \(changes)::jsonb, \(options)::jsonb, \(entry.reason))
            """)
    }

    /// Entries newest first: before `before` (or after `after`, then the oldest of those first
    /// turned newest first, as Discord pages), by actor and action when asked.
    public func auditEntries(workspaceID: Snowflake, userID: Snowflake?, action: Int?, before: Snowflake?, after: Snowflake?,
                             limit: Int) async throws -> [AuditLogEntry] {
        let ascending = after != nil && before == nil
        let rows = try await run("""
            SELECT id, user_id, target_id, action_type, changes::text, options::text, reason FROM audit_log
            WHERE workspace_id = \(workspaceID.int64)
              AND (\(userID?.int64)::bigint IS NULL OR user_id = \(userID?.int64))
              AND (\(action)::integer IS NULL OR action_type = \(action))
              AND id < \((before ?? Snowflake.max).int64) AND id > \((after ?? Snowflake(0)).int64)
            ORDER BY CASE WHEN \(ascending) THEN id END ASC, id DESC
            LIMIT \(limit)
            """)
        return try rows.map { row in
            let (id, user, target, action, changes, options, reason) = try row.decode((Int64, Int64?, Int64?, Int, String?, String?, String?).self)
            var entry = AuditLogEntry(id: Snowflake(int64: id), action: AuditLogAction(rawValue: action) ?? .guildUpdate,
                                      userID: user.map(Snowflake.init(int64:)), targetID: target.map(Snowflake.init(int64:)),
                                      changes: try changes.map { try WireJSON.decode([AuditLogChange].self, from: Data($0.utf8)) },
                                      options: try options.map { try WireJSON.decode([String: String].self, from: Data($0.utf8)) }, reason: reason)
            entry.action_type = action
            return entry
        }.sorted { $0.id > $1.id }
    }
}
