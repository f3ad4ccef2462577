import ConcordModels
import Foundation
import PostgresNIO

/// Share invites: one workspace owner's offer of a channel to another workspace.
extension SQLExecutor {
    /// Inserts a share invite; returns false if the code is taken.
    public func insertShareInvite(code: String, channelID: Snowflake, inviterID: Snowflake, expiresAt: Date) async throws -> Bool {
        do {
            try await run("""
                INSERT INTO share_invites (code, channel_id, inviter_id, expires_at)
                VALUES (\(code), \(channelID.int64), \(inviterID.int64), \(expiresAt))
                """)
            return true
        } catch where error.sqlState == "23505" {
            return false
        }
    }

    /// Takes a share invite for a workspace: answers its channel, or nil when the code is
    /// unknown, expired or taken by another workspace (taking it again for the same one
    /// answers the channel again, so an interrupted acceptance can be finished).
    public func claimShareInvite(code: String, workspaceID: Snowflake) async throws -> Snowflake? {
        try await run("""
            UPDATE share_invites SET accepted_by = \(workspaceID.int64), accepted_at = COALESCE(accepted_at, now())
            WHERE code = \(code) AND expires_at > now() AND (accepted_by IS NULL OR accepted_by = \(workspaceID.int64))
            RETURNING channel_id
            """).first.map { Snowflake(int64: try $0.decode(Int64.self)) }
    }
}
