import ConcordModels
import ConcordPermissions
import Foundation
import PostgresNIO

/// A workspace's roles and the ones the caller holds, read with an access check.
public struct RoleSnapshot: Sendable, Equatable {
    public var roles: [RoleGrant]
    public var memberRoleIDs: [Snowflake]
    /// The caller's timeout, if they have one.
    public var timedOutUntil: Date?

    public init(roles: [RoleGrant], memberRoleIDs: [Snowflake], timedOutUntil: Date? = nil) {
        self.roles = roles
        self.memberRoleIDs = memberRoleIDs
        self.timedOutUntil = timedOutUntil
    }

    /// The member and the workspace as the permission calculator sees them.
    public func grants(of userID: Snowflake, workspace: Snowflake, owner: Snowflake) -> (MemberGrant, WorkspaceRoles) {
        (MemberGrant(userID: userID, roleIDs: memberRoleIDs, timedOutUntil: timedOutUntil),
         WorkspaceRoles(workspaceID: workspace, ownerID: owner, roles: roles))
    }

    /// The member's permissions in the workspace, by Discord's algorithm.
    func permissions(of userID: Snowflake, workspace: Snowflake, owner: Snowflake) -> Permissions {
        let (member, workspace) = grants(of: userID, workspace: workspace, owner: owner)
        return PermissionCalculator.base(member, in: workspace)
    }

    /// The columns an access query adds to read it (`workspace` names the workspace's id, `m`
    /// is the viewer's membership: a viewer who is not a member holds no roles).
    static func columns(workspace: String) -> String {
        """
        ARRAY(SELECT r.id FROM roles r WHERE r.workspace_id = \(workspace) ORDER BY r.id) AS r_ids,
        ARRAY(SELECT r.permissions FROM roles r WHERE r.workspace_id = \(workspace) ORDER BY r.id) AS r_permissions,
        ARRAY(SELECT r.position FROM roles r WHERE r.workspace_id = \(workspace) ORDER BY r.id) AS r_positions,
        ARRAY(SELECT mr.role_id FROM member_roles mr WHERE mr.workspace_id = \(workspace) AND mr.user_id = m.user_id) AS r_held,
        m.communication_disabled_until AS r_timeout
        """
    }

    static func read(_ row: PostgresRandomAccessRow) throws -> RoleSnapshot {
        let ids = try row["r_ids"].decode([Int64].self)
        let permissions = try row["r_permissions"].decode([Int64].self)
        let positions = try row["r_positions"].decode([Int].self)
        let roles = zip(ids, zip(permissions, positions)).map { id, rest in
            RoleGrant(id: Snowflake(int64: id), permissions: Permissions(rawValue: UInt64(bitPattern: rest.0)), position: rest.1)
        }
        return RoleSnapshot(roles: roles, memberRoleIDs: try row["r_held"].decode([Int64].self).map(Snowflake.init(int64:)),
                            timedOutUntil: try row["r_timeout"].decode(Date?.self))
    }
}

extension SQLExecutor {
    private static var roleColumns: String { "id, name, permissions, position, color, hoist, mentionable" }

    static func role(_ row: PostgresRow) throws -> Role {
        let (id, name, permissions, position, color, hoist, mentionable) = try row.decode((Int64, String, Int64, Int, Int, Bool, Bool).self)
        var role = Role(id: Snowflake(int64: id), name: name, permissions: String(UInt64(bitPattern: permissions)))
        (role.position, role.color, role.hoist, role.mentionable) = (position, color, hoist, mentionable)
        return role
    }

    /// Serializes changes to a workspace's roles (positions are renumbered together).
    public func lockWorkspaceRoles(_ workspaceID: Snowflake) async throws {
        try await run("SELECT 1 FROM workspaces WHERE id = \(workspaceID.int64) FOR UPDATE")
    }

    /// A workspace's roles, @everyone first, then by position.
    public func roles(workspaceID: Snowflake) async throws -> [Role] {
        try await run(prepared: """
            SELECT \(unescaped: Self.roleColumns) FROM roles WHERE workspace_id = \(workspaceID.int64) ORDER BY position, id
            """).map(Self.role)
    }

    public func role(id: Snowflake, workspaceID: Snowflake) async throws -> Role? {
        try await run("""
            SELECT \(unescaped: Self.roleColumns) FROM roles WHERE id = \(id.int64) AND workspace_id = \(workspaceID.int64)
            """).first.map(Self.role)
    }

    public func insertRole(_ role: Role, workspaceID: Snowflake) async throws {
        try await run("""
            INSERT INTO roles (id, workspace_id, name, permissions, position, color, hoist, mentionable)
            VALUES (\(role.id.int64), \(workspaceID.int64), \(role.name), \(Int64(bitPattern: role.permissionSet.rawValue)), \(role.position),
                    \(role.color), \(role.hoist), \(role.mentionable))
            """)
    }

    public func updateRole(_ role: Role, workspaceID: Snowflake) async throws {
        try await run("""
            UPDATE roles SET name = \(role.name), permissions = \(Int64(bitPattern: role.permissionSet.rawValue)), position = \(role.position),
                             color = \(role.color), hoist = \(role.hoist), mentionable = \(role.mentionable)
            WHERE id = \(role.id.int64) AND workspace_id = \(workspaceID.int64)
            """)
    }

    /// Deletes a role (members lose it); answers whether it existed.
    public func deleteRole(id: Snowflake, workspaceID: Snowflake) async throws -> Bool {
        !(try await run("DELETE FROM roles WHERE id = \(id.int64) AND workspace_id = \(workspaceID.int64) RETURNING id")).isEmpty
    }

    /// Gives a member a role; answers whether it was new.
    public func addMemberRole(workspaceID: Snowflake, userID: Snowflake, roleID: Snowflake) async throws -> Bool {
        !(try await run("""
            INSERT INTO member_roles (workspace_id, user_id, role_id) VALUES (\(workspaceID.int64), \(userID.int64), \(roleID.int64))
            ON CONFLICT DO NOTHING RETURNING role_id
            """)).isEmpty
    }

    /// Takes a role from a member; answers whether they had it.
    public func removeMemberRole(workspaceID: Snowflake, userID: Snowflake, roleID: Snowflake) async throws -> Bool {
        !(try await run("""
            DELETE FROM member_roles WHERE workspace_id = \(workspaceID.int64) AND user_id = \(userID.int64) AND role_id = \(roleID.int64)
            RETURNING role_id
            """)).isEmpty
    }

    /// The roles each of these members holds (besides @everyone), by user.
    public func memberRoleIDs(workspaceID: Snowflake, userIDs: [Snowflake]) async throws -> [Snowflake: [Snowflake]] {
        guard !userIDs.isEmpty else { return [:] }
        var held: [Snowflake: [Snowflake]] = [:]
        for row in try await run("""
            SELECT user_id, role_id FROM member_roles WHERE workspace_id = \(workspaceID.int64) AND user_id = ANY(\(userIDs.map(\.int64)))
            ORDER BY user_id, role_id
            """) {
            let (user, role) = try row.decode((Int64, Int64).self)
            held[Snowflake(int64: user), default: []].append(Snowflake(int64: role))
        }
        return held
    }
}
