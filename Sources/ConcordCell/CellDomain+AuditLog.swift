import ConcordModels
import ConcordStorage
import Foundation

/// The audit log: every moderation and configuration action writes an entry in its own
/// transaction, with the reason the request gave (X-Audit-Log-Reason), and a
/// GUILD_AUDIT_LOG_ENTRY_CREATE event that the edges deliver to sessions whose user holds
/// VIEW_AUDIT_LOG (ChannelVisibility).
extension CellDomain {
    /// The reason the request being served gave, URL-decoded (CellAPI sets it per request).
    @TaskLocal public static var auditReason: String?

    /// Writes an entry for an action by `actor` and its event, in the action's transaction.
    func audit(_ tx: Transaction, guild: Snowflake, _ action: AuditLogAction, by actor: Snowflake, target: Snowflake?,
               changes: [AuditLogChange]? = nil, options: [String: String]? = nil) async throws {
        let entry = AuditLogEntry(id: ids.next(), action: action, userID: actor, targetID: target, changes: changes, options: options,
                                  reason: Self.auditReason)
        try await tx.insertAuditEntry(entry, workspaceID: guild)
        try await tx.insertEvent(try event("GUILD_AUDIT_LOG_ENTRY_CREATE", guild: guild, channel: nil, WithGuildID(entry, guildID: guild)))
    }

    /// `GET /guilds/{id}/audit-logs` (VIEW_AUDIT_LOG).
    public func auditLog(_ guildID: Snowflake, caller: Caller, userID: Snowflake?, action: Int?, before: Snowflake?, after: Snowflake?,
                         limit: Int) async throws -> AuditLogResponse {
        _ = try await requireWorkspace(guildID, caller: caller, needs: .viewAuditLog)
        let entries = try await db.auditEntries(workspaceID: guildID, userID: userID, action: action, before: before, after: after, limit: limit)
        let named = Set(entries.flatMap { [$0.user_id, $0.target_id].compactMap { $0 } })
        return AuditLogResponse(entries: entries, users: try await db.users(ids: Array(named).sorted()))
    }
}
