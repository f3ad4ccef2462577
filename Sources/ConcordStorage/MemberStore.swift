import ConcordModels
import Foundation
import PostgresNIO

extension SQLExecutor {
    /// The roles a member (`m`) holds and their timeout, as columns `m_roles` and `m_timeout`.
    static var heldRoles: String {
        "ARRAY(SELECT mr.role_id FROM member_roles mr WHERE mr.workspace_id = m.workspace_id AND mr.user_id = m.user_id ORDER BY mr.role_id) AS m_roles, m.communication_disabled_until AS m_timeout"
    }

    /// Adds a member; returns the new membership, or nil when the user already was one.
    public func insertMember(workspaceID: Snowflake, userID: Snowflake) async throws -> Date? {
        let rows = try await run("""
            INSERT INTO members (workspace_id, user_id) VALUES (\(workspaceID.int64), \(userID.int64))
            ON CONFLICT DO NOTHING RETURNING joined_at
            """)
        return try rows.first?.decode(Date.self)
    }

    /// Removes a member; returns whether they were one.
    public func deleteMember(workspaceID: Snowflake, userID: Snowflake) async throws -> Bool {
        !(try await run("DELETE FROM members WHERE workspace_id = \(workspaceID.int64) AND user_id = \(userID.int64) RETURNING user_id")).isEmpty
    }

    public func member(workspaceID: Snowflake, userID: Snowflake) async throws -> MemberRecord? {
        try await members(workspaceID: workspaceID, userIDs: [userID]).first
    }

    /// Members among `userIDs` (those who are not members are left out).
    public func members(workspaceID: Snowflake, userIDs: [Snowflake]) async throws -> [MemberRecord] {
        guard !userIDs.isEmpty else { return [] }
        return try await run(prepared: """
            SELECT \(unescaped: Columns.user("u", as: "u_")), m.nick AS m_nick, m.joined_at AS m_joined_at, \(unescaped: Self.heldRoles)
            FROM members m JOIN users u ON u.id = m.user_id
            WHERE m.workspace_id = \(workspaceID.int64) AND m.user_id = ANY(\(userIDs.map(\.int64)))
            """).compactMap { row in
            let r = row.makeRandomAccess()
            var member = try r.member(prefix: "m_", user: try r.user(prefix: "u_"))
            member?.roleIDs = try r["m_roles"].decode([Int64].self).map(Snowflake.init(int64:))
            member?.timedOutUntil = try r["m_timeout"].decode(Date?.self)
            return member
        }
    }

    /// A page of members ordered by user id, after `after`.
    public func members(workspaceID: Snowflake, after: Snowflake, limit: Int) async throws -> [MemberRecord] {
        try await run(prepared: """
            SELECT \(unescaped: Columns.user("u", as: "u_")), m.nick AS m_nick, m.joined_at AS m_joined_at, \(unescaped: Self.heldRoles)
            FROM members m JOIN users u ON u.id = m.user_id
            WHERE m.workspace_id = \(workspaceID.int64) AND m.user_id > \(after.int64)
            ORDER BY m.user_id LIMIT \(limit)
            """).compactMap { row in
            let r = row.makeRandomAccess()
            var member = try r.member(prefix: "m_", user: try r.user(prefix: "u_"))
            member?.roleIDs = try r["m_roles"].decode([Int64].self).map(Snowflake.init(int64:))
            member?.timedOutUntil = try r["m_timeout"].decode(Date?.self)
            return member
        }
    }
}
