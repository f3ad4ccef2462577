import ConcordModels
import Foundation
import PostgresNIO

/// A person or bot as operators see them: whether they can log in, whether they were erased.
public struct AccountSummary: Sendable, Equatable, Encodable {
    public var id: Snowflake
    public var username: String
    public var global_name: String?
    public var bot: Bool
    public var created_at: String
    public var deactivated: Bool
    public var erased: Bool
}

extension SQLExecutor {
    /// The accounts homed in this cell, by id after `after`, whose username or display name
    /// contains `matching` (case-insensitive) when given.
    public func accountSummaries(matching: String?, after: Snowflake, limit: Int) async throws -> [AccountSummary] {
        let pattern = matching.map { "%" + $0.replacing("\\", with: "\\\\").replacing("%", with: "\\%").replacing("_", with: "\\_") + "%" }
        return try await run("""
            SELECT \(unescaped: Self.summaryColumns) FROM users
            WHERE home_cell IS NULL AND id > \(after.int64)
              AND (\(pattern)::text IS NULL OR username ILIKE \(pattern) OR global_name ILIKE \(pattern))
            ORDER BY id LIMIT \(limit)
            """).map(Self.summary)
    }

    public func accountSummary(id: Snowflake) async throws -> AccountSummary? {
        try await run("SELECT \(unescaped: Self.summaryColumns) FROM users WHERE id = \(id.int64)").first.map(Self.summary)
    }

    private static var summaryColumns: String {
        "id, username, global_name, bot, created_at, deactivated_at IS NOT NULL, erased_at IS NOT NULL"
    }

    private static func summary(_ row: PostgresRow) throws -> AccountSummary {
        let (id, username, global, bot, created, deactivated, erased) = try row.decode((Int64, String, String?, Bool, Date, Bool, Bool).self)
        return AccountSummary(id: Snowflake(int64: id), username: username, global_name: global, bot: bot,
                              created_at: DiscordTimestamp.string(from: created), deactivated: deactivated, erased: erased)
    }

    /// Answers whether the account exists (homed here).
    @discardableResult
    public func setDeactivated(_ id: Snowflake, _ deactivated: Bool) async throws -> Bool {
        !(try await run("""
            UPDATE users SET deactivated_at = CASE WHEN \(deactivated) THEN COALESCE(deactivated_at, now()) END
            WHERE id = \(id.int64) AND home_cell IS NULL RETURNING id
            """)).isEmpty
    }

    public func setPasswordHash(userID: Snowflake, to hash: String) async throws {
        try await run("UPDATE users SET password_hash = \(hash) WHERE id = \(userID.int64)")
    }

    /// Leaves a tombstone of the account's row (its home copy or a replica): no name, picture,
    /// password or login; the id stays so what refers to it still resolves.
    public func eraseProfile(_ id: Snowflake) async throws {
        try await run("""
            UPDATE users SET username = \("deleted_user_" + String(UInt64(bitPattern: id.int64), radix: 16)), global_name = NULL, avatar = NULL,
                   password_hash = NULL, deactivated_at = COALESCE(deactivated_at, now()), erased_at = now()
            WHERE id = \(id.int64)
            """)
    }

    /// Messages the account wrote in this cell's warm tier (any channel, DMs too) after `after`, oldest first.
    public func authoredMessages(_ author: Snowflake, after: Snowflake, limit: Int) async throws -> [(channel: Snowflake, id: Snowflake)] {
        try await run("""
            SELECT channel_id, id FROM messages WHERE author_id = \(author.int64) AND id > \(after.int64) ORDER BY id LIMIT \(limit)
            """).map { row in
            let (channel, id) = try row.decode((Int64, Int64).self)
            return (Snowflake(int64: channel), Snowflake(int64: id))
        }
    }

    /// The workspaces of this cell the account is a member of, and those it owns.
    public func workspaceMemberships(_ user: Snowflake) async throws -> (member: [Snowflake], owner: [Snowflake]) {
        let rows = try await run("""
            SELECT w.id, w.owner_id = \(user.int64) FROM members m JOIN workspaces w ON w.id = m.workspace_id
            WHERE m.user_id = \(user.int64) ORDER BY w.id
            """)
        var member: [Snowflake] = [], owner: [Snowflake] = []
        for row in rows {
            let (id, owns) = try row.decode((Int64, Bool).self)
            member.append(Snowflake(int64: id))
            if owns { owner.append(Snowflake(int64: id)) }
        }
        return (member, owner)
    }
}
