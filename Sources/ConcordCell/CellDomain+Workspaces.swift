import ConcordModels
import ConcordStorage
import Foundation

extension CellDomain {
    /// Workspaces above this many members are "large": GUILD_CREATE carries no member list.
    public static let largeThreshold = 250

    /// Creates a workspace owned by `ownerID` with Discord's defaults: a "Text Channels"
    /// category holding #general, which is also the system channel.
    public func createWorkspace(_ request: GuildCreateRequest, ownerID: Snowflake) async throws -> Guild {
        try Validation.validate(request)
        let workspaceID = ids.next()
        let categoryID = ids.next()
        let generalID = ids.next()
        let record = WorkspaceRecord(id: workspaceID, name: request.name, description: request.description,
                                     ownerID: ownerID, systemChannelID: generalID, createdAt: Date())
        let channels = [
            GuildChannel(id: categoryID, type: .guildCategory, guildID: workspaceID, name: "Text Channels", topic: nil,
                         position: 0, parentID: nil, nsfw: false, lastMessageID: nil),
            GuildChannel(id: generalID, type: .guildText, guildID: workspaceID, name: "general", topic: nil,
                         position: 0, parentID: categoryID, nsfw: false, lastMessageID: nil),
        ]
        let guild = Presenter.guild(record)
        try await commit { tx in
            try await tx.insertWorkspace(record)
            for channel in channels { try await tx.insertChannel(channel) }
            guard let joined = try await tx.insertMember(workspaceID: workspaceID, userID: ownerID),
                  let owner = try await tx.user(id: ownerID) else { throw APIError.unknownUser }
            // The owner's GUILD_CREATE as READY would show the new workspace to them.
            let member = MemberRecord(user: owner, nick: nil, joinedAt: joined)
            let created = ReadyWorkspace(workspace: record, shared: SharedWorkspace(roles: guild.roles, channels: channels, memberCount: 1),
                                         members: [member], presences: [])
            try await tx.insertEvent(try event("GUILD_CREATE", guild: workspaceID, channel: nil, user: ownerID,
                                               created.payload(for: ownerID, own: member)))
        }
        return guild
    }

    public func guild(_ id: Snowflake, caller: Caller, withCounts: Bool) async throws -> Guild {
        let access = try await requireWorkspace(id, caller: caller)
        let count = withCounts ? try await db.memberCount(workspaceID: id) : nil
        var guild = Presenter.guild(access.workspace, roles: try await db.roles(workspaceID: id), memberCount: count)
        if withCounts { guild.approximate_presence_count = try await onlineCount(id) }
        return guild
    }

    public func modifyGuild(_ id: Snowflake, _ request: GuildModifyRequest, caller: Caller) async throws -> Guild {
        try Validation.validate(request)
        var record = try await requireWorkspace(id, caller: caller, needs: .manageGuild).workspace
        let old = Presenter.guild(record)
        record.name = request.name.resolved(current: record.name) ?? record.name
        record.description = request.description.resolved(current: record.description)
        record.systemChannelID = request.system_channel_id.resolved(current: record.systemChannelID)
        if let system = record.systemChannelID {
            guard let channel = try await db.channel(id: system), channel.guild_id == id, channel.type == ChannelType.guildText.rawValue else {
                throw APIError.invalidForm(.single(["system_channel_id"], code: "CHANNEL_INVALID", message: "Invalid channel"))
            }
        }
        let guild = Presenter.guild(record, roles: try await db.roles(workspaceID: id))
        try await commit { tx in
            try await tx.updateWorkspace(record)
            try await tx.insertEvent(try event("GUILD_UPDATE", guild: id, channel: nil, guild))
            try await audit(tx, guild: id, .guildUpdate, by: caller.userID, target: id,
                            changes: AuditLogChange.between(old, guild, keys: ["name", "description", "system_channel_id"]))
        }
        return guild
    }

    public func deleteGuild(_ id: Snowflake, caller: Caller) async throws {
        let access = try await requireWorkspace(id, caller: caller)
        guard access.workspace.ownerID == caller.userID else { throw APIError.missingPermissions }
        try await commit { tx in
            try await tx.deleteWorkspace(id: id)
            try await tx.insertEvent(try event("GUILD_DELETE", guild: id, channel: nil, GuildDeletePayload(id: id)))
        }
    }

    public func currentUserGuilds(_ caller: Caller) async throws -> [PartialGuild] {
        var guilds: [PartialGuild] = []
        for workspace in try await db.workspaces(memberID: caller.userID) {
            guard let access = try await db.workspaceAccess(id: workspace.id, userID: caller.userID) else { continue }
            guilds.append(PartialGuild(id: workspace.id, name: workspace.name, owner: workspace.ownerID == caller.userID,
                                       permissions: access.permissions))
        }
        return guilds
    }

    // MARK: Members

    public func members(_ guildID: Snowflake, caller: Caller, limit: Int, after: Snowflake) async throws -> [Member] {
        _ = try await requireWorkspace(guildID, caller: caller)
        return try await db.members(workspaceID: guildID, after: after, limit: limit).map { Presenter.member($0, withUser: true) }
    }

    public func member(_ guildID: Snowflake, userID: Snowflake, caller: Caller) async throws -> Member {
        _ = try await requireWorkspace(guildID, caller: caller)
        guard let m = try await db.member(workspaceID: guildID, userID: userID) else { throw APIError.unknownMember }
        return Presenter.member(m, withUser: true)
    }

    /// Adds a user to a workspace (an invite accepted, or an operator adding a bot); returns
    /// nil if they already were a member.
    public func addMember(_ guildID: Snowflake, userID: Snowflake) async throws -> Member? {
        let member = try await commit { tx -> Member? in
            guard let workspace = try await tx.workspace(id: guildID) else { throw APIError.unknownGuild }
            guard let user = try await tx.user(id: userID) else { throw APIError.unknownUser }
            guard let joined = try await tx.insertMember(workspaceID: guildID, userID: userID) else { return nil }
            let member = Presenter.member(MemberRecord(user: user, nick: nil, joinedAt: joined), withUser: true)
            try await tx.insertEvent(try event("GUILD_MEMBER_ADD", guild: guildID, channel: nil, WithGuildID(member, guildID: guildID)))
            // The joiner gets the workspace as READY would show it to them.
            let count = try await tx.memberCount(workspaceID: guildID)
            let listed = count > Self.largeThreshold ? nil : try await tx.members(workspaceID: guildID, after: Snowflake(0), limit: Self.largeThreshold)
            let shown = ReadyWorkspace(workspace: workspace,
                                       shared: SharedWorkspace(roles: try await tx.roles(workspaceID: guildID), channels: try await tx.channels(workspaceID: guildID),
                                                               memberCount: count),
                                       members: listed, presences: try await storedPresences(of: listed?.map(\.user.id) ?? []))
            let payload = shown.payload(for: userID, own: MemberRecord(user: user, nick: nil, joinedAt: joined))
            try await tx.insertEvent(try event("GUILD_CREATE", guild: guildID, channel: nil, user: userID, payload))
            return member
        }
        if member != nil { try? await announcePresence(of: userID, joining: guildID) }
        return member
    }

    /// Removes a member; the owner cannot be removed.
    /// `kickedBy`: a moderator's kick, written to the audit log with the removal.
    public func removeMember(_ guildID: Snowflake, userID: Snowflake, kickedBy moderator: Snowflake? = nil) async throws -> Bool {
        let removed = try await commit { tx -> Bool in
            guard let workspace = try await tx.workspace(id: guildID) else { throw APIError.unknownGuild }
            guard workspace.ownerID != userID else { throw APIError.missingPermissions }
            guard let user = try await tx.user(id: userID) else { throw APIError.unknownUser }
            guard try await tx.deleteMember(workspaceID: guildID, userID: userID) else { return false }
            try await tx.insertEvent(try event("GUILD_MEMBER_REMOVE", guild: guildID, channel: nil, MemberRemovePayload(guildID: guildID, user: user)))
            try await tx.insertEvent(try event("GUILD_DELETE", guild: guildID, channel: nil, user: userID, GuildDeletePayload(id: guildID)))
            if let moderator { try await audit(tx, guild: guildID, .memberKick, by: moderator, target: userID) }
            return true
        }
        if removed { _ = try? await redis.send("SREM", Topics.presenceOnline(guildID, cell: cellName), userID.description) }
        return removed
    }

    /// Every workspace of this cell with its member count (operators).
    public func allWorkspaces() async throws -> [(Guild, Int)] {
        try await db.allWorkspaces().map { (Presenter.guild($0.0), $0.1) }
    }
}
