/// Discord's message types that Concord creates.
public enum MessageType: Int, Sendable {
    case normal = 0
    case channelPinnedMessage = 6
    case reply = 19
}

/// Discord's message object.
public struct Message: Codable, Sendable, Equatable {
    public var id: Snowflake
    public var channel_id: Snowflake
    public var guild_id: Snowflake?
    public var author: User
    public var member: Member?
    public var content: String
    public var timestamp: String
    public var edited_timestamp: String?
    public var tts: Bool
    public var mention_everyone: Bool
    public var mentions: [MentionedUser]
    public var mention_roles: [Snowflake] = []
    public var attachments: [Attachment] = []
    public var embeds: [Embed]
    public var components: [JSONValue]
    public var nonce: JSONValue?
    public var pinned: Bool
    public var type: Int
    public var flags: Int
    public var message_reference: MessageReference?
    public var referenced_message: Box<Message>?
    /// Left out when nobody has reacted, as Discord leaves it out.
    public var reactions: [Reaction]?

    public init(id: Snowflake, channelID: Snowflake, guildID: Snowflake?, author: User, member: Member?,
                content: String, editedTimestamp: String?, tts: Bool, mentionEveryone: Bool,
                mentions: [MentionedUser], embeds: [Embed], components: [JSONValue], nonce: JSONValue?,
                pinned: Bool, type: MessageType, flags: Int, reference: MessageReference?,
                referencedMessage: Message?) {
        self.id = id
        self.channel_id = channelID
        self.guild_id = guildID
        self.author = author
        self.member = member
        self.content = content
        self.timestamp = DiscordTimestamp.string(from: id)
        self.edited_timestamp = editedTimestamp
        self.tts = tts
        self.mention_everyone = mentionEveryone
        self.mentions = mentions
        self.embeds = embeds
        self.components = components
        self.nonce = nonce
        self.pinned = pinned
        self.type = type.rawValue
        self.flags = flags
        self.message_reference = reference
        self.referenced_message = referencedMessage.map(Box.init)
    }
}

extension Message {
    /// As events carry it: `me` in reactions is per reader, so events leave them out (clients
    /// keep them from the reaction events).
    public var withoutReactions: Message {
        var message = self
        message.reactions = nil
        return message
    }
}

/// A reply's pointer to the message it answers.
public struct MessageReference: Codable, Sendable, Equatable {
    public var type: Int?
    public var message_id: Snowflake?
    public var channel_id: Snowflake?
    public var guild_id: Snowflake?
    public var fail_if_not_exists: Bool?

    public init(messageID: Snowflake, channelID: Snowflake, guildID: Snowflake?) {
        type = 0
        message_id = messageID
        channel_id = channelID
        guild_id = guildID
    }
}

/// A user in a message's `mentions`, with the partial member Discord adds in guilds.
public struct MentionedUser: Codable, Sendable, Equatable {
    public var user: User
    public var member: Member?

    public init(user: User, member: Member?) {
        self.user = user
        self.member = member
    }

    private enum Keys: String, CodingKey { case member }
    public init(from decoder: any Decoder) throws {
        user = try User(from: decoder)
        member = try decoder.container(keyedBy: Keys.self).decodeIfPresent(Member.self, forKey: .member)
    }
    public func encode(to encoder: any Encoder) throws {
        try user.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encodeIfPresent(member, forKey: .member)
    }
}

/// Lets a value type hold another of its kind (a reply holds the message it answers).
public final class Box<Wrapped: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public let value: Wrapped
    public init(_ value: Wrapped) { self.value = value }
    public init(from decoder: any Decoder) throws { value = try Wrapped(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
    public static func == (a: Box, b: Box) -> Bool { a.value == b.value }
}
