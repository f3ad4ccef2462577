/// An emoji as a reaction route names it: a Unicode emoji, URL-encoded. Custom emoji
/// (`name:id`) do not exist in Concord yet, so they are unknown, as is anything that is not one
/// emoji.
public struct ReactionEmoji: Sendable, Hashable {
    public let name: String

    /// Longest stored emoji, in UTF-8 bytes: the longest ZWJ sequences (families with skin
    /// tones) are under 40.
    static let maxBytes = 64

    /// `segment`: the path segment, percent-decoded.
    public init(segment: String) throws {
        guard !segment.isEmpty, segment.utf8.count <= Self.maxBytes, Self.isOneEmoji(segment) else { throw APIError.unknownEmoji }
        name = segment
    }

    init(stored name: String) { self.name = name }

    /// One grapheme made only of what emoji are made of, with something that shows as an
    /// emoji: a pictograph of emoji presentation, one asking for it (U+FE0F), a keycap, a skin
    /// tone or a flag's regional indicators.
    static func isOneEmoji(_ text: String) -> Bool {
        guard text.count == 1 else { return false }
        let scalars = Array(text.unicodeScalars)
        var shown = false
        for (index, scalar) in scalars.enumerated() {
            let p = scalar.properties
            switch scalar.value {
            case 0x200D, 0xFE0E: continue
            case 0xFE0F, 0x20E3: shown = true; continue
            case 0xE0020...0xE007F: continue // a subdivision flag's tags
            default: break
            }
            guard p.isEmoji || p.isEmojiModifier || p.isEmojiModifierBase else { return false }
            // Digits, '#' and '*' are emoji only as a keycap's base.
            if scalar.isASCII, index + 1 >= scalars.count { return false }
            if p.isEmojiPresentation || p.isEmojiModifier || (0x1F1E6...0x1F1FF).contains(scalar.value) { shown = true }
        }
        return shown
    }

    public var partial: PartialEmoji { PartialEmoji(name: name) }
}

/// An emoji as messages and events carry it; `id` is null for a Unicode emoji.
public struct PartialEmoji: Codable, Sendable, Equatable {
    public var id: Snowflake?
    public var name: String
    public init(name: String) { self.name = name }
}

/// One emoji's reactions on a message, as seen by one user (`me`).
public struct Reaction: Codable, Sendable, Equatable {
    public struct CountDetails: Codable, Sendable, Equatable {
        public var burst: Int
        public var normal: Int
    }
    public var count: Int
    public var count_details: CountDetails
    public var me: Bool
    public var me_burst: Bool
    public var emoji: PartialEmoji
    public var burst_colors: [String]

    public init(emoji: String, count: Int, me: Bool) {
        self.count = count
        count_details = CountDetails(burst: 0, normal: count)
        self.me = me
        me_burst = false
        self.emoji = PartialEmoji(name: emoji)
        burst_colors = []
    }
}

/// MESSAGE_REACTION_ADD's and MESSAGE_REACTION_REMOVE's payload (`member` and
/// `message_author_id` on adds only).
public struct MessageReactionPayload: Codable, Sendable, Equatable {
    public var user_id: Snowflake
    public var channel_id: Snowflake
    public var message_id: Snowflake
    public var guild_id: Snowflake?
    public var member: Member?
    public var message_author_id: Snowflake?
    public var emoji: PartialEmoji
    public var burst: Bool = false
    public var burst_colors: [String]?
    public var type: Int = 0

    public init(userID: Snowflake, channelID: Snowflake, messageID: Snowflake, guildID: Snowflake?, emoji: String,
                added: (member: Member?, messageAuthor: Snowflake)?) {
        user_id = userID
        channel_id = channelID
        message_id = messageID
        guild_id = guildID
        self.emoji = PartialEmoji(name: emoji)
        member = added?.member
        message_author_id = added?.messageAuthor
        burst_colors = added == nil ? nil : []
    }

    // Only adds carry the message's author; a removal leaves the key out.
    private enum CodingKeys: String, CodingKey {
        case user_id, channel_id, message_id, guild_id, member, message_author_id, emoji, burst, burst_colors, type
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(user_id, forKey: .user_id)
        try c.encode(channel_id, forKey: .channel_id)
        try c.encode(message_id, forKey: .message_id)
        if let guild_id { try c.encode(guild_id, forKey: .guild_id) }
        if let member { try c.encode(member, forKey: .member) }
        if let message_author_id { try c.encode(message_author_id, forKey: .message_author_id) }
        try c.encode(emoji, forKey: .emoji)
        try c.encode(burst, forKey: .burst)
        if let burst_colors { try c.encode(burst_colors, forKey: .burst_colors) }
        try c.encode(type, forKey: .type)
    }
}

/// MESSAGE_REACTION_REMOVE_ALL's payload, and MESSAGE_REACTION_REMOVE_EMOJI's (with `emoji`).
public struct MessageReactionsClearedPayload: Codable, Sendable, Equatable {
    public var channel_id: Snowflake
    public var message_id: Snowflake
    public var guild_id: Snowflake?
    public var emoji: PartialEmoji?

    public init(channelID: Snowflake, messageID: Snowflake, guildID: Snowflake?, emoji: String?) {
        channel_id = channelID
        message_id = messageID
        guild_id = guildID
        self.emoji = emoji.map(PartialEmoji.init(name:))
    }
}
