import ConcordModels
import ConcordStorage
import Foundation

/// Reactions: READ_MESSAGE_HISTORY to react at all, ADD_REACTIONS to be the first with an
/// emoji, MANAGE_MESSAGES to remove other people's. Each change is one row and one event;
/// the message itself, warm or archived, is only read.
extension CellDomain {
    public func addReaction(_ channelID: Snowflake, messageID: Snowflake, emoji segment: String, caller: Caller) async throws {
        let emoji = try ReactionEmoji(segment: segment).name
        let (access, message) = try await reactedMessage(channelID, messageID, caller: caller)
        let standing = try await db.reactionStanding(channelID: channelID, messageID: messageID, emoji: emoji, userID: caller.userID)
        if standing.mine { return }
        if !standing.emojiPresent {
            guard access.permissions.contains(.addReactions) else { throw APIError.missingPermissions }
            guard standing.kinds < Limits.reactionEmojiPerMessage else { throw APIError.maximumReactions }
        }
        let member = access.dmUsers == nil ? access.member.map { Presenter.member($0, withUser: true) } : nil
        let payload = MessageReactionPayload(userID: caller.userID, channelID: channelID, messageID: messageID, guildID: access.guildID,
                                             emoji: emoji, added: (member, message.author.id))
        let events = try channelEvents("MESSAGE_REACTION_ADD", access: access, payload)
        try await commit { tx in
            guard try await tx.addReaction(channelID: channelID, messageID: messageID, emoji: emoji, userID: caller.userID) else { return }
            try await tx.insertEvents(events)
        }
        await hot.invalidate(channelID)
    }

    /// Removes the caller's reaction (`user` nil), or someone else's (MANAGE_MESSAGES).
    public func removeReaction(_ channelID: Snowflake, messageID: Snowflake, emoji segment: String, user: Snowflake?, caller: Caller) async throws {
        let emoji = try ReactionEmoji(segment: segment).name
        let (access, _) = try await reactedMessage(channelID, messageID, caller: caller, needs: user == nil ? [] : .manageMessages)
        let removed = user ?? caller.userID
        let payload = MessageReactionPayload(userID: removed, channelID: channelID, messageID: messageID, guildID: access.guildID,
                                             emoji: emoji, added: nil)
        try await removeReactions(access, messageID, emoji: emoji, user: removed, eventType: "MESSAGE_REACTION_REMOVE", payload)
    }

    /// Removes every reaction (`emoji` nil) or every one with an emoji (MANAGE_MESSAGES).
    public func clearReactions(_ channelID: Snowflake, messageID: Snowflake, emoji segment: String?, caller: Caller) async throws {
        let emoji = try segment.map { try ReactionEmoji(segment: $0).name }
        let (access, _) = try await reactedMessage(channelID, messageID, caller: caller, needs: .manageMessages)
        let payload = MessageReactionsClearedPayload(channelID: channelID, messageID: messageID, guildID: access.guildID, emoji: emoji)
        try await removeReactions(access, messageID, emoji: emoji, user: nil,
                                  eventType: emoji == nil ? "MESSAGE_REACTION_REMOVE_ALL" : "MESSAGE_REACTION_REMOVE_EMOJI", payload)
    }

    /// The users who reacted with an emoji, by id.
    public func reactionUsers(_ channelID: Snowflake, messageID: Snowflake, emoji segment: String, after: Snowflake, limit: Int,
                              burst: Bool, caller: Caller) async throws -> [User] {
        let emoji = try ReactionEmoji(segment: segment).name
        _ = try await reactedMessage(channelID, messageID, caller: caller)
        // Concord has no super reactions: their list is empty.
        if burst { return [] }
        return try await db.reactors(channelID: channelID, messageID: messageID, emoji: emoji, after: after, limit: limit)
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

    /// A message of a channel where the caller may read history (and has `needs`).
    private func reactedMessage(_ channelID: Snowflake, _ messageID: Snowflake, caller: Caller,
                                needs: Permissions = []) async throws -> (ChannelAccess, MessageRecord) {
        let access = try await requireChannel(channelID, caller: caller, needs: [.viewChannel, .readMessageHistory])
        guard access.homeCell == nil else { throw APIError.missingAccess }
        guard access.permissions.contains(needs) else { throw APIError.missingPermissions }
        guard let found = try await history.message(channelID, id: messageID) else { throw APIError.unknownMessage }
        return (access, found.record)
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
