import ConcordModels
import ConcordStorage
import Foundation

/// Pins: MANAGE_MESSAGES in a workspace, anyone in a DM. Pinning changes no message row (the
/// pin is a row of its own, so an archived message pins like a warm one); it sends the
/// message's MESSAGE_UPDATE, CHANNEL_PINS_UPDATE and, as Discord, a "pinned a message" system
/// message.
extension CellDomain {
    public func pin(_ channelID: Snowflake, messageID: Snowflake, caller: Caller) async throws {
        let (access, found) = try await pinnedMessage(channelID, messageID, caller: caller)
        guard [MessageType.normal.rawValue, MessageType.reply.rawValue].contains(found.type) else { throw APIError.systemMessageAction }
        guard let pinner = access.member?.user else { throw APIError.missingAccess }
        guard try await db.pinCount(channelID: channelID) < Limits.pinsPerChannel else { throw APIError.maximumPins }

        let notice = MessageRecord(
            id: ids.next(), channelID: channelID, workspaceID: access.guildID, author: pinner,
            authorMember: access.dmUsers == nil ? access.member : nil, type: MessageType.channelPinnedMessage.rawValue,
            content: "", tts: false, mentionEveryone: false, mentionIDs: [], embedsJSON: "[]", componentsJSON: "[]", nonceJSON: nil,
            flags: 0, pinned: false, referenceMessageID: messageID, referenceChannelID: channelID, referenceGuildID: access.guildID, editedAt: nil)
        let noticeJSON = try WireJSON.encodeString(try await render(notice, referenced: nil))
        try await db.ensureMessagePartition(bucket: notice.id.bucket)
        let created = Self.addressed("MESSAGE_CREATE", channel: channelID, guild: access.guildID, dmUsers: access.dmUsers, payload: noticeJSON)
        let updates = try await pinUpdate(found, access: access, pinned: true)
        let changed = try await commit { tx -> [ReadStateRow] in
            guard let pinnedAt = try await tx.pin(channelID: channelID, messageID: messageID, by: caller.userID) else { return [] }
            try await tx.insertEvents(updates)
            try await tx.insertEvents(try self.channelEvents("CHANNEL_PINS_UPDATE", access: access,
                ChannelPinsUpdatePayload(guildID: access.guildID, channelID: channelID, lastPin: DiscordTimestamp.string(from: pinnedAt))))
            let changed = try await tx.insertMessage(notice, authorID: caller.userID, event: created[0])
            try await tx.insertEvents(Array(created.dropFirst()))
            if let guild = access.guildID {
                try await self.audit(tx, guild: guild, .messagePin, by: caller.userID, target: found.author.id,
                                     options: ["channel_id": channelID.description, "message_id": messageID.description])
            }
            return changed
        }
        await hot.invalidate(channelID)
        await counters.apply(changed)
    }

    public func unpin(_ channelID: Snowflake, messageID: Snowflake, caller: Caller) async throws {
        let (access, found) = try await pinnedMessage(channelID, messageID, caller: caller)
        let updates = try await pinUpdate(found, access: access, pinned: false)
        try await commit { tx in
            guard try await tx.unpin(channelID: channelID, messageID: messageID) else { return }
            try await tx.insertEvents(updates)
            let last = try await tx.lastPin(channelID: channelID)
            try await tx.insertEvents(try self.channelEvents("CHANNEL_PINS_UPDATE", access: access,
                ChannelPinsUpdatePayload(guildID: access.guildID, channelID: channelID, lastPin: last.map(DiscordTimestamp.string(from:)))))
            if let guild = access.guildID {
                try await self.audit(tx, guild: guild, .messageUnpin, by: caller.userID, target: found.author.id,
                                     options: ["channel_id": channelID.description, "message_id": messageID.description])
            }
        }
        await hot.invalidate(channelID)
    }

    /// A page of pins, newest first, pinned before `before`.
    public func pins(_ channelID: Snowflake, caller: Caller, before: Date?, limit: Int) async throws -> PinnedMessages {
        _ = try await requireChannel(channelID, caller: caller, needs: [.viewChannel, .readMessageHistory])
        let pins = try await db.pins(channelID: channelID, before: before, limit: limit + 1)
        let page = pins.prefix(limit)
        // Most pinned messages are warm: read together, the archived rest one by one.
        var records = Dictionary(try await db.messages(channelID: channelID, ids: page.map(\.messageID)).map { ($0.id, $0) },
                                 uniquingKeysWith: { a, _ in a })
        for pin in page where records[pin.messageID] == nil {
            records[pin.messageID] = try await history.message(channelID, id: pin.messageID)?.record
        }
        let rendered = try await Presenter.messages(page.compactMap { records[$0.messageID] }, db: db, links: links, viewer: caller.userID)
        let byID = Dictionary(rendered.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let items = page.compactMap { pin in
            byID[pin.messageID].map { PinnedMessage(pinnedAt: DiscordTimestamp.string(from: pin.pinnedAt), message: $0) }
        }
        return PinnedMessages(items: items, hasMore: pins.count > limit)
    }

    /// The message's MESSAGE_UPDATE with `pinned` as it is about to be (reactions left out, as
    /// every event does).
    private func pinUpdate(_ message: MessageRecord, access: ChannelAccess, pinned: Bool) async throws -> [PendingEvent] {
        var updated = try await Presenter.messages([message], db: db, links: links)[0]
        updated.pinned = pinned
        return try channelEvents("MESSAGE_UPDATE", access: access, updated.withoutReactions)
    }

    /// A message of a channel where the caller may pin.
    private func pinnedMessage(_ channelID: Snowflake, _ messageID: Snowflake, caller: Caller) async throws -> (ChannelAccess, MessageRecord) {
        let access = try await requireChannel(channelID, caller: caller, needs: [.viewChannel, .readMessageHistory])
        guard access.homeCell == nil else { throw APIError.missingAccess }
        guard access.dmUsers != nil || access.permissions.contains(.manageMessages) else { throw APIError.missingPermissions }
        guard let found = try await history.message(channelID, id: messageID) else { throw APIError.unknownMessage }
        return (access, found.record)
    }
}
