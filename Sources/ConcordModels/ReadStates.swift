/// One channel's read state as READY's `read_state.entries` and MESSAGE_ACK carry it.
/// `unread_count` is Concord's addition: the channel's message sequence minus the user's read
/// sequence (Discord clients ignore fields they do not know).
public struct ReadStateEntry: Codable, Sendable, Equatable {
    public var id: Snowflake
    public var last_message_id: Snowflake
    public var mention_count: Int
    public var unread_count: Int
    public var last_pin_timestamp: String? = nil

    public init(channelID: Snowflake, lastMessageID: Snowflake, mentionCount: Int, unreadCount: Int) {
        id = channelID
        last_message_id = lastMessageID
        mention_count = mentionCount
        unread_count = unreadCount
    }
}

/// MESSAGE_ACK's `d`: sent to the user's other sessions so every device clears the badge.
public struct MessageAckPayload: Codable, Sendable, Equatable {
    public var channel_id: Snowflake
    public var message_id: Snowflake
    public var mention_count: Int
    public var unread_count: Int
    public var version: Int = 1

    public init(_ entry: ReadStateEntry) {
        channel_id = entry.id
        message_id = entry.last_message_id
        mention_count = entry.mention_count
        unread_count = entry.unread_count
    }
}

/// `POST /read-states/ack-bulk`.
public struct BulkAckRequest: Codable, Sendable, Equatable {
    public struct Item: Codable, Sendable, Equatable {
        public var channel_id: Snowflake
        public var message_id: Snowflake
        public init(channelID: Snowflake, messageID: Snowflake) { channel_id = channelID; message_id = messageID }
    }
    public var read_states: [Item]
    public init(readStates: [Item]) { read_states = readStates }
}
