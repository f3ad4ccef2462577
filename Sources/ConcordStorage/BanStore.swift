import ConcordModels
import Foundation
import PostgresNIO

/// Bans and timeouts.
extension SQLExecutor {
    /// Records a ban (again: the reason is replaced); answers whether it is new.
    public func insertBan(workspaceID: Snowflake, userID: Snowflake, reason: String?) async throws -> Bool {
        try await run("""
            INSERT INTO bans (workspace_id, user_id, reason) VALUES (\(workspaceID.int64), \(userID.int64), \(reason))
            ON CONFLICT (workspace_id, user_id) DO UPDATE SET reason = EXCLUDED.reason
            RETURNING (xmax = 0)
            """).first?.decode(Bool.self) ?? false
    }

    public func deleteBan(workspaceID: Snowflake, userID: Snowflake) async throws -> Bool {
        !(try await run("DELETE FROM bans WHERE workspace_id = \(workspaceID.int64) AND user_id = \(userID.int64) RETURNING user_id")).isEmpty
    }

    public func isBanned(workspaceID: Snowflake, userID: Snowflake) async throws -> Bool {
        !(try await run("SELECT 1 FROM bans WHERE workspace_id = \(workspaceID.int64) AND user_id = \(userID.int64)")).isEmpty
    }

    /// A page of bans by user id (after `after`, or before `before` counting down), with the
    /// banned users' profiles where this cell has them.
    public func bans(workspaceID: Snowflake, before: Snowflake?, after: Snowflake?, limit: Int) async throws -> [(user: User?, userID: Snowflake, reason: String?)] {
        // Counting down from `before`, else up from `after` (Discord's two directions).
        let rows = if let before {
            try await run("""
                SELECT b.user_id, b.reason, \(unescaped: Columns.user("u", as: "u_"))
                FROM bans b LEFT JOIN users u ON u.id = b.user_id
                WHERE b.workspace_id = \(workspaceID.int64) AND b.user_id < \(before.int64)
                ORDER BY b.user_id DESC LIMIT \(limit)
                """)
        } else {
            try await run("""
                SELECT b.user_id, b.reason, \(unescaped: Columns.user("u", as: "u_"))
                FROM bans b LEFT JOIN users u ON u.id = b.user_id
                WHERE b.workspace_id = \(workspaceID.int64) AND b.user_id > \((after ?? Snowflake(0)).int64)
                ORDER BY b.user_id LIMIT \(limit)
                """)
        }
        return try rows.map { row in
            let r = row.makeRandomAccess()
            let user = try r["u_id"].decode(Int64?.self) == nil ? nil : try r.user(prefix: "u_")
            return (user, Snowflake(int64: try r["user_id"].decode(Int64.self)), try r["reason"].decode(String?.self))
        }.sorted { $0.userID < $1.userID }
    }

    /// Sets or lifts (nil) a member's timeout; answers whether they are a member.
    public func setTimeout(workspaceID: Snowflake, userID: Snowflake, until: Date?) async throws -> Bool {
        !(try await run("""
            UPDATE members SET communication_disabled_until = \(until)
            WHERE workspace_id = \(workspaceID.int64) AND user_id = \(userID.int64) RETURNING user_id
            """)).isEmpty
    }

    public func setNick(workspaceID: Snowflake, userID: Snowflake, nick: String?) async throws -> Bool {
        !(try await run("""
            UPDATE members SET nick = \(nick) WHERE workspace_id = \(workspaceID.int64) AND user_id = \(userID.int64) RETURNING user_id
            """)).isEmpty
    }
}

extension SQLExecutor {
    /// A user's warm messages in a workspace's channels since `since`, newest first (what a
    /// ban's delete_message_seconds takes with it).
    public func recentMessages(workspaceID: Snowflake, authorID: Snowflake, since: Date, limit: Int) async throws -> [(channel: Snowflake, id: Snowflake)] {
        let floor = Snowflake.lowerBound(at: UInt64(max(0, since.timeIntervalSince1970 * 1000)))
        return try await run("""
            SELECT m.channel_id, m.id FROM messages m JOIN channels c ON c.id = m.channel_id
            WHERE c.workspace_id = \(workspaceID.int64) AND m.author_id = \(authorID.int64)
              AND m.bucket >= \(floor.bucket) AND m.id >= \(floor.int64)
            ORDER BY m.id DESC LIMIT \(limit)
            """).map { row in
            let (channel, id) = try row.decode((Int64, Int64).self)
            return (Snowflake(int64: channel), Snowflake(int64: id))
        }
    }
}
