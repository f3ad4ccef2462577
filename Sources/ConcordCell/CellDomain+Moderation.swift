import ConcordModels
import ConcordPermissions
import ConcordStorage
import Foundation

/// Kicks, bans, timeouts, nicknames and leaving, with Discord's permissions and hierarchy: a
/// moderator acts only on members whose most senior role is below theirs, never on the owner.
extension CellDomain {
    /// Messages a ban takes with it at most (the newest, within delete_message_seconds).
    static let banDeletesAtMost = 1_000

    /// `DELETE /guilds/{id}/members/{user}` (KICK_MEMBERS).
    public func kick(_ guildID: Snowflake, userID: Snowflake, caller: Caller) async throws {
        let access = try await requireWorkspace(guildID, caller: caller, needs: .kickMembers)
        try await checkModeratable(userID, access: access)
        guard try await removeMember(guildID, userID: userID, kickedBy: caller.userID) else { throw APIError.unknownMember }
    }

    /// `DELETE /users/@me/guilds/{id}`: the owner cannot leave (they would leave it ownerless).
    public func leave(_ guildID: Snowflake, caller: Caller) async throws {
        let access = try await requireWorkspace(guildID, caller: caller)
        guard access.workspace.ownerID != caller.userID else { throw APIError.ownerCannotLeave }
        _ = try await removeMember(guildID, userID: caller.userID)
    }

    /// `PUT /guilds/{id}/bans/{user}` (BAN_MEMBERS): records the ban, removes the member if they
    /// are one, and deletes their messages of the last `delete_message_seconds`.
    public func ban(_ guildID: Snowflake, userID: Snowflake, _ request: BanRequest, caller: Caller) async throws {
        try Validation.validate(request)
        let access = try await requireWorkspace(guildID, caller: caller, needs: .banMembers)
        try await checkModeratable(userID, access: access)
        let user = try await db.user(id: userID) ?? User(id: userID, username: "unknown", globalName: nil, bot: false)
        try await commit { tx in
            guard try await tx.insertBan(workspaceID: guildID, userID: userID, reason: Self.auditReason) else { return }
            try await tx.insertEvent(try event("GUILD_BAN_ADD", guild: guildID, channel: nil, GuildBanPayload(guildID: guildID, user: user)))
            try await audit(tx, guild: guildID, .memberBanAdd, by: caller.userID, target: userID)
        }
        _ = try await removeMember(guildID, userID: userID)
        if request.deletedSeconds > 0 {
            let since = Date().addingTimeInterval(-Double(request.deletedSeconds))
            var channels: [Snowflake: ChannelAccess] = [:]
            for (channel, id) in try await db.recentMessages(workspaceID: guildID, authorID: userID, since: since, limit: Self.banDeletesAtMost) {
                if channels[channel] == nil { channels[channel] = try await db.channelAccess(id: channel, userID: caller.userID) }
                guard let channelAccess = channels[channel] else { continue }
                do { try await delete(id, in: channelAccess, by: caller.userID) } catch let error as APIError where error == .unknownMessage {}
            }
        }
    }

    /// `POST /guilds/{id}/bulk-ban` (BAN_MEMBERS and MANAGE_GUILD): each user as a single ban;
    /// those already banned or out of the caller's reach are the failed ones. If none could be
    /// banned, Discord's 500000 error.
    public func bulkBan(_ guildID: Snowflake, _ request: BulkBanRequest, caller: Caller) async throws -> BulkBanResponse {
        try Validation.validate(request)
        _ = try await requireWorkspace(guildID, caller: caller, needs: [.banMembers, .manageGuild])
        var banned: [Snowflake] = [], failed: [Snowflake] = []
        for userID in Array(Set(request.user_ids)).sorted() {
            do {
                if try await db.isBanned(workspaceID: guildID, userID: userID) { failed.append(userID); continue }
                try await ban(guildID, userID: userID, BanRequest(deleteMessageSeconds: request.delete_message_seconds), caller: caller)
                banned.append(userID)
            } catch is APIError {
                failed.append(userID)
            }
        }
        guard !banned.isEmpty else { throw APIError.failedToBanUsers }
        return BulkBanResponse(banned: banned, failed: failed)
    }

    /// `DELETE /guilds/{id}/bans/{user}` (BAN_MEMBERS).
    public func unban(_ guildID: Snowflake, userID: Snowflake, caller: Caller) async throws {
        _ = try await requireWorkspace(guildID, caller: caller, needs: .banMembers)
        let user = try await db.user(id: userID) ?? User(id: userID, username: "unknown", globalName: nil, bot: false)
        try await commit { tx in
            guard try await tx.deleteBan(workspaceID: guildID, userID: userID) else { throw APIError.unknownBan }
            try await tx.insertEvent(try event("GUILD_BAN_REMOVE", guild: guildID, channel: nil, GuildBanPayload(guildID: guildID, user: user)))
            try await audit(tx, guild: guildID, .memberBanRemove, by: caller.userID, target: userID)
        }
    }

    public func bans(_ guildID: Snowflake, caller: Caller, before: Snowflake?, after: Snowflake?, limit: Int) async throws -> [Ban] {
        _ = try await requireWorkspace(guildID, caller: caller, needs: .banMembers)
        return try await db.bans(workspaceID: guildID, before: before, after: after, limit: limit).map { entry in
            Ban(reason: entry.reason, user: entry.user ?? User(id: entry.userID, username: "unknown", globalName: nil, bot: false))
        }
    }

    public func ban(_ guildID: Snowflake, userID: Snowflake, caller: Caller) async throws -> Ban {
        let page = try await bans(guildID, caller: caller, before: nil, after: Snowflake(userID.rawValue &- 1), limit: 1)
        guard let ban = page.first, ban.user.id == userID else { throw APIError.unknownBan }
        return ban
    }

    /// `PATCH /guilds/{id}/members/{user}`: nickname (MANAGE_NICKNAMES), roles (MANAGE_ROLES,
    /// each added or removed role below the caller's), timeout (MODERATE_MEMBERS, hierarchy).
    public func modifyMember(_ guildID: Snowflake, userID: Snowflake, _ request: MemberModifyRequest, caller: Caller) async throws -> Member {
        try Validation.validate(request)
        let access = try await requireWorkspace(guildID, caller: caller)
        let (actor, workspace) = Self.grants(access)
        guard var member = try await db.member(workspaceID: guildID, userID: userID) else { throw APIError.unknownMember }
        let old = Presenter.member(member, withUser: false)
        if !request.nick.isAbsent {
            let own = userID == caller.userID
            guard access.permissions.contains(.manageNicknames) || own && access.permissions.contains(.changeNickname) else {
                throw APIError.missingPermissions
            }
            if !own { try await checkModeratable(userID, access: access) }
        }
        var roles = member.roleIDs
        if let wanted = request.roles {
            guard access.permissions.contains(.manageRoles) else { throw APIError.missingPermissions }
            let target = Set(wanted.filter { $0 != guildID })
            for roleID in target.symmetricDifference(member.roleIDs) {
                guard let grant = workspace.roles[roleID] else { throw APIError.unknownRole }
                guard PermissionCalculator.canManage(role: grant, actor: actor, in: workspace) else { throw APIError.missingPermissions }
            }
            roles = target.sorted()
        }
        if let timeout = request.timeout {
            guard access.permissions.contains(.moderateMembers) else { throw APIError.missingPermissions }
            try await checkModeratable(userID, access: access)
            member.timedOutUntil = timeout
        }
        let nick = request.nick.resolved(current: member.nick)
        let changedRoles = roles != member.roleIDs
        member.nick = nick
        member.roleIDs = roles
        let new = Presenter.member(member, withUser: false)
        let roleNames = changedRoles ? Dictionary(try await db.roles(workspaceID: guildID).map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a }) : [:]
        try await commit { [member] tx in
            try await tx.lockWorkspaceRoles(guildID)
            guard try await tx.setNick(workspaceID: guildID, userID: userID, nick: nick) else { throw APIError.unknownMember }
            if let timeout = request.timeout { _ = try await tx.setTimeout(workspaceID: guildID, userID: userID, until: timeout) }
            if changedRoles {
                let held = Set(try await tx.memberRoleIDs(workspaceID: guildID, userIDs: [userID])[userID] ?? [])
                for role in held.subtracting(roles) { _ = try await tx.removeMemberRole(workspaceID: guildID, userID: userID, roleID: role) }
                for role in Set(roles).subtracting(held) { _ = try await tx.addMemberRole(workspaceID: guildID, userID: userID, roleID: role) }
            }
            try await tx.insertEvent(try event("GUILD_MEMBER_UPDATE", guild: guildID, channel: nil,
                                               WithGuildID(Presenter.member(member, withUser: true), guildID: guildID)))
            let changes = AuditLogChange.between(old, new, keys: ["nick", "communication_disabled_until"])
            if !changes.isEmpty { try await audit(tx, guild: guildID, .memberUpdate, by: caller.userID, target: userID, changes: changes) }
            if changedRoles {
                try await audit(tx, guild: guildID, .memberRoleUpdate, by: caller.userID, target: userID,
                                changes: Self.roleChanges(added: Set(new.roles).subtracting(old.roles), removed: Set(old.roles).subtracting(new.roles), names: roleNames))
            }
        }
        return Presenter.member(member, withUser: true)
    }

    /// `PATCH /guilds/{id}/members/@me`: one's own nickname (CHANGE_NICKNAME).
    public func modifyCurrentMember(_ guildID: Snowflake, _ request: CurrentMemberModifyRequest, caller: Caller) async throws -> Member {
        try Validation.validate(request)
        return try await modifyMember(guildID, userID: caller.userID, MemberModifyRequest(nick: request.nick), caller: caller)
    }

    /// Kick, ban and timeout reach only members below the caller, never the owner or oneself.
    private func checkModeratable(_ userID: Snowflake, access: WorkspaceAccess) async throws {
        let (actor, workspace) = Self.grants(access)
        let held = try await db.memberRoleIDs(workspaceID: access.workspace.id, userIDs: [userID])[userID] ?? []
        let target = MemberGrant(userID: userID, roleIDs: held)
        guard PermissionCalculator.canModerate(target, actor: actor, in: workspace) else { throw APIError.missingPermissions }
    }
}
