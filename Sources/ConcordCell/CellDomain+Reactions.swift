import ConcordModels
import ConcordPermissions
import ConcordStorage
import Foundation

/// Reactions: READ_MESSAGE_HISTORY to react at all, ADD_REACTIONS to be the first with an
/// emoji, MANAGE_MESSAGES to remove other people's. Each change is one row and one event;
/// the message itself, warm or archived, is only read. In a shared channel the home counts:
/// a replica hands its members' reactions there, and the relay brings every change back.
extension CellDomain {
    public func addReaction(_ channelID: Snowflake, messageID: Snowflake, emoji segment: String, caller: Caller) async throws {
        let emoji = try ReactionEmoji(segment: segment).name
        let access = try await requireChannel(channelID, caller: caller, needs: [.viewChannel, .readMessageHistory])
        if let home = access.homeCell {
            let (user, workspace) = try replicaWriter(access)
            // The replica mirrors the home's reactions: enough to tell whether this emoji is new.
            let standing = try await db.reactionStanding(channelID: channelID, messageID: messageID, emoji: emoji, userID: caller.userID)
            if !standing.emojiPresent, !access.permissions.contains(.addReactions) { throw APIError.missingPermissions }
            try await peers.reactShared(SharedReaction(channel_id: channelID, workspace_id: workspace, user: user, message_id: messageID,
                                                       emoji: emoji, added: true), home: home)
            return
        }
        let message = try await reactedMessage(access, messageID)
        let member = access.dmUsers == nil ? access.member.map { Presenter.member($0, withUser: true) } : nil
        try await add(emoji, to: message, in: access, by: caller.userID, member: member, mayStart: access.permissions.contains(.addReactions))
    }

    /// Removes the caller's reaction (`user` nil), or someone else's (MANAGE_MESSAGES).
    public func removeReaction(_ channelID: Snowflake, messageID: Snowflake, emoji segment: String, user: Snowflake?, caller: Caller) async throws {
        let emoji = try ReactionEmoji(segment: segment).name
        let access = try await requireChannel(channelID, caller: caller, needs: [.viewChannel, .readMessageHistory])
        if let home = access.homeCell {
            // Members of another workspace take back their own; its moderators do not manage this channel.
            guard user == nil || user == caller.userID else { throw APIError.missingPermissions }
            let (author, workspace) = try replicaWriter(access)
            try await peers.reactShared(SharedReaction(channel_id: channelID, workspace_id: workspace, user: author, message_id: messageID,
                                                       emoji: emoji, added: false), home: home)
            return
        }
        if user != nil, user != caller.userID, !access.permissions.contains(.manageMessages) { throw APIError.missingPermissions }
        _ = try await reactedMessage(access, messageID)
        try await remove(emoji, of: user ?? caller.userID, from: messageID, in: access)
    }

    /// Removes every reaction (`emoji` nil) or every one with an emoji (MANAGE_MESSAGES).
    public func clearReactions(_ channelID: Snowflake, messageID: Snowflake, emoji segment: String?, caller: Caller) async throws {
        let emoji = try segment.map { try ReactionEmoji(segment: $0).name }
        let access = try await requireChannel(channelID, caller: caller, needs: [.viewChannel, .readMessageHistory])
        guard access.homeCell == nil, access.permissions.contains(.manageMessages) else { throw APIError.missingPermissions }
        _ = try await reactedMessage(access, messageID)
        let payload = MessageReactionsClearedPayload(channelID: channelID, messageID: messageID, guildID: access.guildID, emoji: emoji)
        try await removeReactions(access, messageID, emoji: emoji, user: nil,
                                  eventType: emoji == nil ? "MESSAGE_REACTION_REMOVE_ALL" : "MESSAGE_REACTION_REMOVE_EMOJI", payload)
    }

    /// The users who reacted with an emoji, by id (in a replica, from its copy of the home's).
    public func reactionUsers(_ channelID: Snowflake, messageID: Snowflake, emoji segment: String, after: Snowflake, limit: Int,
                              burst: Bool, caller: Caller) async throws -> [User] {
        let emoji = try ReactionEmoji(segment: segment).name
        let access = try await requireChannel(channelID, caller: caller, needs: [.viewChannel, .readMessageHistory])
        _ = try await reactedMessage(access, messageID)
        // Concord has no super reactions: their list is empty.
        if burst { return [] }
        return try await db.reactors(channelID: channelID, messageID: messageID, emoji: emoji, after: after, limit: limit)
    }

    /// A reaction handed here by the cell of a workspace this channel is shared into, for one
    /// of its members (that cell checked their permissions in its workspace).
    public func reactShared(_ reaction: SharedReaction) async throws {
        let emoji = try ReactionEmoji(segment: reaction.emoji).name
        let access = try await sharedAccess(reaction.channel_id, via: reaction.workspace_id, for: reaction.user)
        if reaction.user.id.cell != cellID { try await db.upsertReplica(reaction.user) }
        let message = try await reactedMessage(access, reaction.message_id)
        if reaction.added {
            try await add(emoji, to: message, in: access, by: reaction.user.id, member: nil, mayStart: true)
        } else {
            try await remove(emoji, of: reaction.user.id, from: reaction.message_id, in: access)
        }
    }

    // MARK: The changes

    private func add(_ emoji: String, to message: MessageRecord, in access: ChannelAccess, by userID: Snowflake, member: Member?,
                     mayStart: Bool) async throws {
        let channelID = access.channel.id
        let standing = try await db.reactionStanding(channelID: channelID, messageID: message.id, emoji: emoji, userID: userID)
        if standing.mine { return }
        if !standing.emojiPresent {
            guard mayStart else { throw APIError.missingPermissions }
            guard standing.kinds < Limits.reactionEmojiPerMessage else { throw APIError.maximumReactions }
        }
        let payload = MessageReactionPayload(userID: userID, channelID: channelID, messageID: message.id, guildID: access.guildID,
                                             emoji: emoji, added: (member, message.author.id))
        let events = try channelEvents("MESSAGE_REACTION_ADD", access: access, payload)
        try await commit { tx in
            guard try await tx.addReaction(channelID: channelID, messageID: message.id, emoji: emoji, userID: userID) else { return }
            try await tx.insertEvents(events)
        }
        await hot.invalidate(channelID)
    }

    private func remove(_ emoji: String, of userID: Snowflake, from messageID: Snowflake, in access: ChannelAccess) async throws {
        let payload = MessageReactionPayload(userID: userID, channelID: access.channel.id, messageID: messageID, guildID: access.guildID,
                                             emoji: emoji, added: nil)
        try await removeReactions(access, messageID, emoji: emoji, user: userID, eventType: "MESSAGE_REACTION_REMOVE", payload)
    }

    private func removeReactions(_ access: ChannelAccess, _ messageID: Snowflake, emoji: String?, user: Snowflake?,
                                 eventType: String, _ payload: some Encodable) async throws {
        let channelID = access.channel.id
        let events = try channelEvents(eventType, access: access, payload)
        try await commit { tx in
            guard try await tx.removeReactions(channelID: channelID, messageID: messageID, emoji: emoji, userID: user) else { return }
            try await tx.insertEvents(events)
        }
        await hot.invalidate(channelID)
    }

    /// The message reacted to, wherever its tier.
    private func reactedMessage(_ access: ChannelAccess, _ messageID: Snowflake) async throws -> MessageRecord {
        guard let found = try await history.message(access.channel.id, id: messageID) else { throw APIError.unknownMessage }
        return found.record
    }

    // MARK: The replica side (applied by the relay, inside its transaction)

    /// A reaction event of a channel homed in another cell, applied to its replica here;
    /// answers whether it changed anything.
    func applyRelayedReaction(_ event: PendingEvent, channel: Snowflake, _ tx: Transaction) async throws -> Bool {
        guard let payload = try? WireJSON.decode(JSONValue.self, from: Data(event.payload.utf8)),
              let message = payload["message_id"]?.stringValue.flatMap(Snowflake.init) else { return false }
        let emoji = payload["emoji"]?["name"]?.stringValue
        let user = payload["user_id"]?.stringValue.flatMap(Snowflake.init)
        switch event.type {
        case "MESSAGE_REACTION_ADD":
            guard let emoji, let user else { return false }
            // A member of the home workspace: their profile, for the replica's list of reactors.
            if let profile = payload["member"]?["user"], user.cell != cellID,
               let reactor = try? WireJSON.decode(User.self, from: WireJSON.encode(profile)) {
                try await tx.upsertReplica(reactor)
            }
            return try await tx.addReaction(channelID: channel, messageID: message, emoji: emoji, userID: user)
        case "MESSAGE_REACTION_REMOVE":
            guard let emoji, let user else { return false }
            return try await tx.removeReactions(channelID: channel, messageID: message, emoji: emoji, userID: user)
        case "MESSAGE_REACTION_REMOVE_EMOJI":
            guard let emoji else { return false }
            return try await tx.removeReactions(channelID: channel, messageID: message, emoji: emoji, userID: nil)
        case "MESSAGE_REACTION_REMOVE_ALL":
            return try await tx.removeReactions(channelID: channel, messageID: message, emoji: nil, userID: nil)
        default:
            return false
        }
    }

    /// Marks the reactions of `viewer` in a page rendered for everyone (as the hot tier keeps
    /// it, with `me` false throughout); a page without reactions is answered as it is.
    func markOwnReactions(_ page: String, channelID: Snowflake, viewer: Snowflake) async throws -> String {
        guard page.contains(#""reactions":["#) else { return page }
        var messages = try WireJSON.decode([Message].self, from: Data(page.utf8))
        let reacted = messages.filter { $0.reactions != nil }.map(\.id)
        let own = try await db.ownReactions(channelID: channelID, messageIDs: reacted, userID: viewer)
        guard !own.isEmpty else { return page }
        for index in messages.indices {
            guard let reactions = messages[index].reactions else { continue }
            messages[index].reactions = reactions.map { reaction in
                var reaction = reaction
                reaction.me = own.contains(OwnReaction(messageID: messages[index].id, emoji: reaction.emoji.name))
                return reaction
            }
        }
        return try WireJSON.encodeString(messages)
    }
}
