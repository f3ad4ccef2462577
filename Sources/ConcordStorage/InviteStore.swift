import ConcordModels
import Foundation
import PostgresNIO

extension SQLExecutor {
    private static var inviteColumns: String {
        "i.code, i.workspace_id, i.channel_id, i.inviter_id, i.max_age, i.max_uses, i.uses, i.temporary, i.created_at, i.expires_at"
    }

    static func invite(_ row: PostgresRow) throws -> InviteRecord {
        let (code, ws, ch, inviter, maxAge, maxUses, uses, temporary, created, expires) =
            try row.decode((String, Int64, Int64, Int64, Int, Int, Int, Bool, Date, Date?).self)
        return InviteRecord(code: code, workspaceID: Snowflake(int64: ws), channelID: Snowflake(int64: ch),
                            inviterID: Snowflake(int64: inviter), maxAge: maxAge, maxUses: maxUses, uses: uses,
                            temporary: temporary, createdAt: created, expiresAt: expires)
    }

    /// Inserts an invite; returns false if the code is taken.
    public func insertInvite(_ i: InviteRecord) async throws -> Bool {
        do {
            try await run("""
                INSERT INTO invites (code, workspace_id, channel_id, inviter_id, max_age, max_uses, temporary, created_at, expires_at)
                VALUES (\(i.code), \(i.workspaceID.int64), \(i.channelID.int64), \(i.inviterID.int64), \(i.maxAge), \(i.maxUses),
                        \(i.temporary), \(i.createdAt), \(i.expiresAt))
                """)
            return true
        } catch where error.sqlState == "23505" {
            return false
        }
    }

    /// A usable invite: not expired and not used up.
    public func invite(code: String) async throws -> InviteRecord? {
        try await run("""
            SELECT \(unescaped: Self.inviteColumns) FROM invites i
            WHERE i.code = \(code) AND (i.expires_at IS NULL OR i.expires_at > now()) AND (i.max_uses = 0 OR i.uses < i.max_uses)
            """).first.map(Self.invite)
    }

    /// Counts one use of an invite if it is still usable; returns the updated invite or nil.
    public func useInvite(code: String) async throws -> InviteRecord? {
        try await run("""
            UPDATE invites i SET uses = uses + 1
            WHERE i.code = \(code) AND (i.expires_at IS NULL OR i.expires_at > now()) AND (i.max_uses = 0 OR i.uses < i.max_uses)
            RETURNING \(unescaped: Self.inviteColumns)
            """).first.map(Self.invite)
    }
}
