import ConcordModels
import ConcordStorage
import Foundation

extension CellDomain {
    public func channels(_ guildID: Snowflake, caller: Caller) async throws -> [GuildChannel] {
        _ = try await requireWorkspace(guildID, caller: caller)
        return try await db.channels(workspaceID: guildID)
    }

    public func channel(_ id: Snowflake, caller: Caller) async throws -> AnyChannel {
        let access = try await requireChannel(id, caller: caller)
        if access.dmUsers != nil { return .dm(try await dmChannel(id, caller: caller)) }
        return .guild(access.channel)
    }

    public func createChannel(_ guildID: Snowflake, _ request: ChannelCreateRequest, caller: Caller) async throws -> GuildChannel {
        try Validation.validate(request)
        let access = try await requireWorkspace(guildID, caller: caller, needs: .manageChannels)
        let type = ChannelType(rawValue: request.type ?? 0) ?? .guildText
        let parent = try await request.parent_id.asyncMap { try await requireCategory($0, in: guildID) }
        let (actor, workspace) = Self.grants(access)
        // As Discord: a channel made in a category without overwrites of its own starts with the category's.
        let overwrites = try await request.permission_overwrites.asyncMap { try await requestedOverwrites($0, actor: actor, in: workspace) }
            ?? parent?.permission_overwrites ?? []
        let existing = try await db.channels(workspaceID: guildID)
        let position = request.position ?? ((existing.filter { $0.type == type.rawValue }.map(\.position).max() ?? -1) + 1)
        var channel = GuildChannel(id: ids.next(), type: type, guildID: guildID,
                                   name: Validation.normalizedChannelName(request.name, type: type),
                                   topic: type == .guildText ? request.topic : nil, position: position,
                                   parentID: request.parent_id, nsfw: request.nsfw ?? false, lastMessageID: nil)
        channel.permission_overwrites = overwrites
        try await commit { [channel] tx in
            try await tx.insertChannel(channel)
            try await tx.insertEvent(try event("CHANNEL_CREATE", guild: guildID, channel: channel.id, channel))
            try await audit(tx, guild: guildID, .channelCreate, by: caller.userID, target: channel.id,
                            changes: AuditLogChange.between(nil as GuildChannel?, channel, keys: Self.channelKeys))
        }
        return channel
    }

    public func modifyChannel(_ id: Snowflake, _ request: ChannelModifyRequest, caller: Caller) async throws -> GuildChannel {
        try Validation.validate(request)
        let access = try await requireChannel(id, caller: caller, needs: [.viewChannel, .manageChannels])
        var channel = access.channel
        let type = ChannelType(rawValue: channel.type) ?? .guildText
        if case .value(let name) = request.name { channel.name = Validation.normalizedChannelName(name, type: type) }
        channel.topic = request.topic.resolved(current: channel.topic)
        channel.position = request.position.resolved(current: channel.position) ?? channel.position
        channel.nsfw = request.nsfw.resolved(current: channel.nsfw) ?? channel.nsfw
        if !request.parent_id.isAbsent {
            let parent = request.parent_id.resolved(current: nil)
            if let parent {
                guard type != .guildCategory else {
                    throw APIError.invalidForm(.single(["parent_id"], code: "CHANNEL_PARENT_INVALID_TYPE", message: "Categories cannot have subcategories"))
                }
                try await requireCategory(parent, in: channel.guild_id)
            }
            channel.parent_id = parent
        }
        if !request.permission_overwrites.isAbsent {
            guard let member = access.member else { throw APIError.missingAccess }
            let (actor, workspace) = access.roles.grants(of: member.user.id, workspace: channel.guild_id, owner: access.ownerID)
            channel.permission_overwrites = try await requestedOverwrites(request.permission_overwrites.resolved(current: nil) ?? [], actor: actor, in: workspace)
        }
        let updated = channel
        try await commit { tx in
            try await tx.updateChannel(updated)
            try await tx.insertEvent(try event("CHANNEL_UPDATE", guild: updated.guild_id, channel: id, updated))
            try await audit(tx, guild: updated.guild_id, .channelUpdate, by: caller.userID, target: id,
                            changes: AuditLogChange.between(access.channel, updated, keys: Self.channelKeys))
        }
        return updated
    }

    public func deleteChannel(_ id: Snowflake, caller: Caller) async throws -> GuildChannel {
        let channel = try await requireChannel(id, caller: caller, needs: [.viewChannel, .manageChannels]).channel
        try await commit { tx in
            try await tx.deleteChannel(id: id)
            try await tx.insertEvent(try event("CHANNEL_DELETE", guild: channel.guild_id, channel: id, channel))
            try await audit(tx, guild: channel.guild_id, .channelDelete, by: caller.userID, target: id,
                            changes: AuditLogChange.between(channel, nil as GuildChannel?, keys: Self.channelKeys))
        }
        return channel
    }

    /// The fields of a channel its audit log entries show.
    static let channelKeys = ["name", "type", "topic", "position", "parent_id", "nsfw", "permission_overwrites"]

    @discardableResult
    private func requireCategory(_ id: Snowflake, in guildID: Snowflake) async throws -> GuildChannel {
        guard let parent = try await db.channel(id: id), parent.guild_id == guildID, parent.type == ChannelType.guildCategory.rawValue else {
            throw APIError.invalidForm(.single(["parent_id"], code: "CHANNEL_PARENT_INVALID", message: "Invalid parent channel"))
        }
        return parent
    }
}
