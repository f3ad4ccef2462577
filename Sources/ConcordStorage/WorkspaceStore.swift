import ConcordModels
import Foundation
import PostgresNIO

/// What a user may touch in a workspace: the workspace, the user, and their membership.
public struct WorkspaceAccess: Sendable {
    public var workspace: WorkspaceRecord
    public var user: User?
    public var member: MemberRecord?
    public var roles: RoleSnapshot
    /// The workspace's access version, read with the rest by `memberships`: while it stays, so
    /// do the workspace's members (every insert and delete moves it).
    public var accessVersion: Int64? = nil
    public var permissions: Permissions {
        guard let member else { return [] }
        return roles.permissions(of: member.user.id, workspace: workspace.id, owner: workspace.ownerID)
    }
}

extension SQLExecutor {
    /// Inserts a workspace with its @everyone role.
    public func insertWorkspace(_ w: WorkspaceRecord) async throws {
        try await run("""
            INSERT INTO workspaces (id, name, description, owner_id, system_channel_id)
            VALUES (\(w.id.int64), \(w.name), \(w.description), \(w.ownerID.int64), \(w.systemChannelID?.int64))
            """)
        try await insertRole(Role.everyone(guildID: w.id), workspaceID: w.id)
    }

    private static var workspaceColumns: String {
        "w.id AS w_id, w.name AS w_name, w.description AS w_description, w.owner_id AS w_owner_id, w.system_channel_id AS w_system_channel_id, w.created_at AS w_created_at"
    }

    public func workspace(id: Snowflake) async throws -> WorkspaceRecord? {
        let rows = try await run(prepared: "SELECT \(unescaped: Self.workspaceColumns) FROM workspaces w WHERE w.id = \(id.int64)")
        return try rows.first.map { try Self.workspace($0.makeRandomAccess()) }
    }

    /// The workspace, the user and their membership in one round trip.
    public func workspaceAccess(id: Snowflake, userID: Snowflake) async throws -> WorkspaceAccess? {
        let rows = try await run(prepared: """
            SELECT \(unescaped: Self.workspaceColumns), \(unescaped: Columns.user("u", as: "u_")), m.nick AS m_nick, m.joined_at AS m_joined_at,
                   \(unescaped: RoleSnapshot.columns(workspace: "w.id"))
            FROM workspaces w
            LEFT JOIN users u ON u.id = \(userID.int64)
            LEFT JOIN members m ON m.workspace_id = w.id AND m.user_id = \(userID.int64)
            WHERE w.id = \(id.int64)
            """)
        guard let row = rows.first?.makeRandomAccess() else { return nil }
        let user = try row["u_id"].decode(Int64?.self) == nil ? nil : try row.user(prefix: "u_")
        return WorkspaceAccess(workspace: try Self.workspace(row), user: user,
                               member: try user.flatMap { try row.member(prefix: "m_", user: $0) }, roles: try RoleSnapshot.read(row))
    }

    /// Every membership of some users, each with the member's access to its workspace (as
    /// `workspaceAccess` reads it), by user then workspace: READY's workspaces for a batch of
    /// sessions in one statement.
    public func memberships(userIDs: [Snowflake]) async throws -> [(userID: Snowflake, access: WorkspaceAccess)] {
        guard !userIDs.isEmpty else { return [] }
        return try await run(prepared: """
            SELECT \(unescaped: Self.workspaceColumns), \(unescaped: Columns.user("u", as: "u_")), m.nick AS m_nick, m.joined_at AS m_joined_at,
                   \(unescaped: RoleSnapshot.columns(workspace: "w.id")), w.access_version AS w_access_version
            FROM members m JOIN workspaces w ON w.id = m.workspace_id JOIN users u ON u.id = m.user_id
            WHERE m.user_id = ANY(\(userIDs.map(\.int64)))
            ORDER BY m.user_id, w.id
            """).map { row in
            let r = row.makeRandomAccess()
            let user = try r.user(prefix: "u_")
            return (user.id, WorkspaceAccess(workspace: try Self.workspace(r), user: user, member: try r.member(prefix: "m_", user: user),
                                             roles: try RoleSnapshot.read(r), accessVersion: try r["w_access_version"].decode(Int64.self)))
        }
    }

    static func workspace(_ row: PostgresRandomAccessRow) throws -> WorkspaceRecord {
        WorkspaceRecord(id: try row.snowflake("w_id"), name: try row["w_name"].decode(String.self),
                        description: try row["w_description"].decode(String?.self), ownerID: try row.snowflake("w_owner_id"),
                        systemChannelID: try row.optionalSnowflake("w_system_channel_id"), createdAt: try row["w_created_at"].decode(Date.self))
    }

    /// The workspaces a user is a member of, oldest first.
    public func workspaces(memberID: Snowflake) async throws -> [WorkspaceRecord] {
        try await run(prepared: """
            SELECT \(unescaped: Self.workspaceColumns) FROM members m JOIN workspaces w ON w.id = m.workspace_id
            WHERE m.user_id = \(memberID.int64) ORDER BY w.id
            """).map { try Self.workspace($0.makeRandomAccess()) }
    }

    /// The workspaces each of some users is a member of.
    public func workspaceIDs(memberIDs: [Snowflake]) async throws -> [(userID: Snowflake, workspaceID: Snowflake)] {
        guard !memberIDs.isEmpty else { return [] }
        return try await run(prepared: "SELECT user_id, workspace_id FROM members WHERE user_id = ANY(\(memberIDs.map(\.int64))) ORDER BY user_id, workspace_id")
            .map { row in
                let (user, workspace) = try row.decode((Int64, Int64).self)
                return (Snowflake(int64: user), Snowflake(int64: workspace))
            }
    }

    /// Every workspace of this cell with its member count, for operators.
    public func workspaceCount() async throws -> Int {
        try await run("SELECT count(*)::int FROM workspaces").first?.decode(Int.self) ?? 0
    }

    public func allWorkspaces() async throws -> [(WorkspaceRecord, Int)] {
        try await run("""
            SELECT \(unescaped: Self.workspaceColumns), (SELECT count(*) FROM members m WHERE m.workspace_id = w.id) AS member_count
            FROM workspaces w ORDER BY w.id
            """).map { row in
            let r = row.makeRandomAccess()
            return (try Self.workspace(r), try r["member_count"].decode(Int.self))
        }
    }

    public func updateWorkspace(_ w: WorkspaceRecord) async throws {
        try await run("""
            UPDATE workspaces SET name = \(w.name), description = \(w.description), system_channel_id = \(w.systemChannelID?.int64)
            WHERE id = \(w.id.int64)
            """)
    }

    /// Deletes a workspace with its channels, members, invites and messages.
    public func deleteWorkspace(id: Snowflake) async throws {
        try await run("DELETE FROM messages WHERE channel_id IN (SELECT id FROM channels WHERE workspace_id = \(id.int64))")
        try await run("DELETE FROM workspaces WHERE id = \(id.int64)")
    }

    public func memberCount(workspaceID: Snowflake) async throws -> Int {
        try await run(prepared: "SELECT count(*) FROM members WHERE workspace_id = \(workspaceID.int64)").first?.decode(Int.self) ?? 0
    }
}
