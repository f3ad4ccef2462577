import ConcordModels
import ConcordPermissions
import ConcordStorage
import Foundation

/// Roles: Discord's routes and rules. MANAGE_ROLES is needed to change any; a member acts only
/// on roles below their most senior one and grants only permissions they hold (the owner and
/// administrators on any). Every change is an outbox event, so sessions (whose channel
/// visibility follows them, ChannelVisibility) and other cells follow.
extension CellDomain {
    public func roles(_ guildID: Snowflake, caller: Caller) async throws -> [Role] {
        _ = try await requireWorkspace(guildID, caller: caller)
        return try await db.roles(workspaceID: guildID)
    }

    public func role(_ guildID: Snowflake, roleID: Snowflake, caller: Caller) async throws -> Role {
        _ = try await requireWorkspace(guildID, caller: caller)
        guard let role = try await db.role(id: roleID, workspaceID: guildID) else { throw APIError.unknownRole }
        return role
    }

    public func createRole(_ guildID: Snowflake, _ request: RoleRequest, caller: Caller) async throws -> Role {
        try Validation.validate(request)
        let access = try await requireWorkspace(guildID, caller: caller, needs: .manageRoles)
        let (actor, workspace) = Self.grants(access)
        let permissions = request.permissionSet ?? []
        guard PermissionCalculator.canGrant(permissions, actor: actor, in: workspace) else { throw APIError.missingPermissions }
        var role = Role(id: ids.next(), name: request.name ?? "new role", permissions: String(permissions.rawValue))
        role.color = request.color ?? 0
        role.hoist = request.hoist ?? false
        role.mentionable = request.mentionable ?? false
        // As Discord: a new role starts at the bottom, above @everyone; the others move up one.
        role.position = 1
        guard PermissionCalculator.canManage(role: RoleGrant(id: role.id, permissions: permissions, position: 1), actor: actor, in: workspace) else {
            throw APIError.missingPermissions
        }
        try await commit { [role] tx in
            try await tx.lockWorkspaceRoles(guildID)
            for var other in try await tx.roles(workspaceID: guildID) where other.id != guildID {
                other.position += 1
                try await tx.updateRole(other, workspaceID: guildID)
                try await tx.insertEvent(try event("GUILD_ROLE_UPDATE", guild: guildID, channel: nil, GuildRolePayload(guildID: guildID, role: other)))
            }
            try await tx.insertRole(role, workspaceID: guildID)
            try await tx.insertEvent(try event("GUILD_ROLE_CREATE", guild: guildID, channel: nil, GuildRolePayload(guildID: guildID, role: role)))
            try await audit(tx, guild: guildID, .roleCreate, by: caller.userID, target: role.id, changes: AuditLogChange.between(nil as Role?, role, keys: Self.roleKeys))
        }
        return role
    }

    public func modifyRole(_ guildID: Snowflake, roleID: Snowflake, _ request: RoleRequest, caller: Caller) async throws -> Role {
        try Validation.validate(request)
        let access = try await requireWorkspace(guildID, caller: caller, needs: .manageRoles)
        let (actor, workspace) = Self.grants(access)
        guard var role = try await db.role(id: roleID, workspaceID: guildID) else { throw APIError.unknownRole }
        try Self.checkManageable(role, actor: actor, in: workspace)
        let old = role
        if let name = request.name, roleID != guildID { role.name = name }
        if let permissions = request.permissionSet {
            // Only what changes must be the actor's to give or take.
            let changed = permissions.symmetricDifference(role.permissionSet)
            guard PermissionCalculator.canGrant(changed, actor: actor, in: workspace) else { throw APIError.missingPermissions }
            role.permissions = String(permissions.rawValue)
        }
        if let color = request.color { role.color = color }
        if let hoist = request.hoist { role.hoist = hoist }
        if let mentionable = request.mentionable { role.mentionable = mentionable }
        try await commit { [role] tx in
            try await tx.lockWorkspaceRoles(guildID)
            try await tx.updateRole(role, workspaceID: guildID)
            try await tx.insertEvent(try event("GUILD_ROLE_UPDATE", guild: guildID, channel: nil, GuildRolePayload(guildID: guildID, role: role)))
            try await audit(tx, guild: guildID, .roleUpdate, by: caller.userID, target: roleID, changes: AuditLogChange.between(old, role, keys: Self.roleKeys))
        }
        return role
    }

    /// `PATCH /guilds/{id}/roles`: moves roles; the others keep their order around them.
    public func moveRoles(_ guildID: Snowflake, _ moves: [RolePosition], caller: Caller) async throws -> [Role] {
        try Validation.validate(moves)
        let access = try await requireWorkspace(guildID, caller: caller, needs: .manageRoles)
        let (actor, workspace) = Self.grants(access)
        return try await commit { tx in
            try await tx.lockWorkspaceRoles(guildID)
            var roles = try await tx.roles(workspaceID: guildID).filter { $0.id != guildID }
            let before = Dictionary(uniqueKeysWithValues: roles.map { ($0.id, $0) })
            for move in moves {
                guard let role = before[move.id] else { throw APIError.unknownRole }
                guard let position = move.position else { continue }
                try Self.checkManageable(role, actor: actor, in: workspace)
                // Nobody moves a role to or above their own most senior one.
                guard actor.userID == workspace.ownerID || position < PermissionCalculator.highestPosition(actor, in: workspace) else {
                    throw APIError.missingPermissions
                }
                roles.removeAll { $0.id == move.id }
                roles.insert(role, at: max(0, min(roles.count, position - 1)))
            }
            for (index, var role) in roles.enumerated() where role.position != index + 1 {
                role.position = index + 1
                try await tx.updateRole(role, workspaceID: guildID)
                try await tx.insertEvent(try event("GUILD_ROLE_UPDATE", guild: guildID, channel: nil, GuildRolePayload(guildID: guildID, role: role)))
            }
            return try await tx.roles(workspaceID: guildID)
        }
    }

    public func deleteRole(_ guildID: Snowflake, roleID: Snowflake, caller: Caller) async throws {
        let access = try await requireWorkspace(guildID, caller: caller, needs: .manageRoles)
        let (actor, workspace) = Self.grants(access)
        guard roleID != guildID else {
            throw APIError.invalidForm(.single(["role_id"], code: "ROLE_INVALID", message: "@everyone cannot be deleted"))
        }
        guard let role = try await db.role(id: roleID, workspaceID: guildID) else { throw APIError.unknownRole }
        try Self.checkManageable(role, actor: actor, in: workspace)
        try await commit { tx in
            try await tx.lockWorkspaceRoles(guildID)
            guard try await tx.deleteRole(id: roleID, workspaceID: guildID) else { throw APIError.unknownRole }
            for channel in try await tx.dropOverwrites(of: roleID, workspaceID: guildID) {
                try await tx.insertEvent(try event("CHANNEL_UPDATE", guild: guildID, channel: channel.id, channel))
            }
            try await tx.insertEvent(try event("GUILD_ROLE_DELETE", guild: guildID, channel: nil, GuildRoleDeletePayload(guildID: guildID, roleID: roleID)))
            try await audit(tx, guild: guildID, .roleDelete, by: caller.userID, target: roleID, changes: AuditLogChange.between(role, nil as Role?, keys: Self.roleKeys))
        }
    }

    /// `PUT` / `DELETE /guilds/{id}/members/{user}/roles/{role}`.
    public func setMemberRole(_ guildID: Snowflake, userID: Snowflake, roleID: Snowflake, held: Bool, caller: Caller) async throws {
        let access = try await requireWorkspace(guildID, caller: caller, needs: .manageRoles)
        let (actor, workspace) = Self.grants(access)
        guard roleID != guildID, let role = try await db.role(id: roleID, workspaceID: guildID) else { throw APIError.unknownRole }
        try Self.checkManageable(role, actor: actor, in: workspace)
        try await commit { tx in
            try await tx.lockWorkspaceRoles(guildID)
            guard var member = try await tx.member(workspaceID: guildID, userID: userID) else { throw APIError.unknownMember }
            let changed = held ? try await tx.addMemberRole(workspaceID: guildID, userID: userID, roleID: roleID)
                               : try await tx.removeMemberRole(workspaceID: guildID, userID: userID, roleID: roleID)
            guard changed else { return }
            member.roleIDs = held ? (member.roleIDs + [roleID]).sorted() : member.roleIDs.filter { $0 != roleID }
            try await tx.insertEvent(try event("GUILD_MEMBER_UPDATE", guild: guildID, channel: nil,
                                               WithGuildID(Presenter.member(member, withUser: true), guildID: guildID)))
            try await audit(tx, guild: guildID, .memberRoleUpdate, by: caller.userID, target: userID,
                            changes: Self.roleChanges(added: held ? [roleID] : [], removed: held ? [] : [roleID], names: [roleID: role.name]))
        }
    }

    /// The fields of a role its audit log entries show.
    static let roleKeys = ["name", "permissions", "color", "hoist", "mentionable"]

    /// A member's role changes as Discord's audit log shows them: `$add` and `$remove` lists of
    /// partial roles.
    static func roleChanges(added: Set<Snowflake>, removed: Set<Snowflake>, names: [Snowflake: String]) -> [AuditLogChange] {
        func partial(_ ids: Set<Snowflake>) -> JSONValue {
            .array(ids.sorted().map { .object(["id": .string($0.description), "name": .string(names[$0] ?? "")]) })
        }
        return (added.isEmpty ? [] : [AuditLogChange("$add", new: partial(added))]) + (removed.isEmpty ? [] : [AuditLogChange("$remove", new: partial(removed))])
    }

    /// The caller and the workspace as the permission calculator sees them.
    static func grants(_ access: WorkspaceAccess) -> (MemberGrant, WorkspaceRoles) {
        access.roles.grants(of: access.member?.user.id ?? Snowflake(0), workspace: access.workspace.id, owner: access.workspace.ownerID)
    }

    static func checkManageable(_ role: Role, actor: MemberGrant, in workspace: WorkspaceRoles) throws {
        let grant = RoleGrant(id: role.id, permissions: role.permissionSet, position: role.position)
        guard PermissionCalculator.canManage(role: grant, actor: actor, in: workspace) else { throw APIError.missingPermissions }
    }
}
