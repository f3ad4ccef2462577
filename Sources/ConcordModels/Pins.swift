/// One entry of `GET /channels/{id}/messages/pins`.
public struct PinnedMessage: Codable, Sendable, Equatable {
    public var pinned_at: String
    public var message: Message
    public init(pinnedAt: String, message: Message) {
        pinned_at = pinnedAt
        self.message = message
    }
}

/// `GET /channels/{id}/messages/pins`: newest pin first.
public struct PinnedMessages: Codable, Sendable, Equatable {
    public var items: [PinnedMessage]
    public var has_more: Bool
    public init(items: [PinnedMessage], hasMore: Bool) {
        self.items = items
        has_more = hasMore
    }
}

/// CHANNEL_PINS_UPDATE's payload: the newest pin's time, null when none is left.
public struct ChannelPinsUpdatePayload: Codable, Sendable, Equatable {
    public var guild_id: Snowflake?
    public var channel_id: Snowflake
    public var last_pin_timestamp: String?
    public init(guildID: Snowflake?, channelID: Snowflake, lastPin: String?) {
        guild_id = guildID
        channel_id = channelID
        last_pin_timestamp = lastPin
    }
}

/// `POST /channels/{id}/messages/bulk-delete`'s body.
public struct BulkDeleteRequest: Codable, Sendable, Equatable {
    public var messages: [Snowflake]
    public init(messages: [Snowflake]) { self.messages = messages }

    public static func validate(_ r: BulkDeleteRequest) throws {
        guard Limits.bulkDelete.contains(r.messages.count) else {
            throw APIError.invalidForm(.single(["messages"], code: "BASE_TYPE_BAD_LENGTH",
                                               message: "Must be between \(Limits.bulkDelete.lowerBound) and \(Limits.bulkDelete.upperBound) in length."))
        }
    }
}

/// MESSAGE_DELETE_BULK's payload.
public struct MessageDeleteBulkPayload: Codable, Sendable, Equatable {
    public var ids: [Snowflake]
    public var channel_id: Snowflake
    public var guild_id: Snowflake?
    public init(ids: [Snowflake], channelID: Snowflake, guildID: Snowflake?) {
        self.ids = ids
        channel_id = channelID
        guild_id = guildID
    }
}
