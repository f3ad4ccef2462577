/// Dispatch payloads that are more than a bare object.

/// An object plus the `guild_id` Discord adds to it in dispatches (members, typing).
public struct WithGuildID<Wrapped: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var value: Wrapped
    public var guildID: Snowflake

    public init(_ value: Wrapped, guildID: Snowflake) {
        self.value = value
        self.guildID = guildID
    }
    private enum Keys: String, CodingKey { case guild_id }
    public init(from decoder: any Decoder) throws {
        value = try Wrapped(from: decoder)
        guildID = try decoder.container(keyedBy: Keys.self).decode(Snowflake.self, forKey: .guild_id)
    }
    public func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(guildID, forKey: .guild_id)
    }
}

/// GUILD_CREATE's payload: the guild with its channels and members, as a client first sees it.
public struct GuildCreatePayload: Codable, Sendable, Equatable {
    public var guild: Guild
    public var channels: [GuildChannel]
    public var members: [Member]
    public var member_count: Int
    public var joined_at: String?
    public var large: Bool
    public var unavailable: Bool = false
    public var presences: [JSONValue] = []
    public var voice_states: [JSONValue] = []
    public var threads: [JSONValue] = []
    public var stage_instances: [JSONValue] = []
    public var guild_scheduled_events: [JSONValue] = []

    public init(guild: Guild, channels: [GuildChannel], members: [Member], memberCount: Int, joinedAt: String?, large: Bool) {
        self.guild = guild
        self.channels = channels
        self.members = members
        self.member_count = memberCount
        self.joined_at = joinedAt
        self.large = large
    }

    private enum Keys: String, CodingKey {
        case channels, members, member_count, joined_at, large, unavailable, presences, voice_states, threads,
             stage_instances, guild_scheduled_events
    }
    public init(from decoder: any Decoder) throws {
        guild = try Guild(from: decoder)
        let c = try decoder.container(keyedBy: Keys.self)
        channels = try c.decode([GuildChannel].self, forKey: .channels)
        members = try c.decode([Member].self, forKey: .members)
        member_count = try c.decode(Int.self, forKey: .member_count)
        joined_at = try c.decodeIfPresent(String.self, forKey: .joined_at)
        large = try c.decode(Bool.self, forKey: .large)
        presences = try c.decodeIfPresent([JSONValue].self, forKey: .presences) ?? []
    }
    public func encode(to encoder: any Encoder) throws {
        try common.encode(to: encoder)
        try own.encode(to: encoder)
    }

    /// What every member's GUILD_CREATE of the workspace shows alike (see `sharesWorkspace`).
    public var common: Common { Common(payload: self) }
    /// What differs by member: joined_at, the members listed, the presences.
    public var own: Own { Own(payload: self) }

    public struct Common: Encodable {
        let payload: GuildCreatePayload
        public func encode(to encoder: any Encoder) throws {
            try payload.guild.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(payload.channels, forKey: .channels)
            try c.encode(payload.member_count, forKey: .member_count)
            try c.encode(payload.large, forKey: .large)
            try c.encode(payload.unavailable, forKey: .unavailable)
            try c.encode(payload.voice_states, forKey: .voice_states)
            try c.encode(payload.threads, forKey: .threads)
            try c.encode(payload.stage_instances, forKey: .stage_instances)
            try c.encode(payload.guild_scheduled_events, forKey: .guild_scheduled_events)
        }
    }

    public struct Own: Encodable {
        let payload: GuildCreatePayload
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(payload.members, forKey: .members)
            try c.encode(payload.joined_at, forKey: .joined_at)
            try c.encode(payload.presences, forKey: .presences)
        }
    }

    /// The payload without what differs by member (`own`'s fields): what `common` shows.
    public var withoutOwnPart: GuildCreatePayload {
        var common = self
        (common.members, common.joined_at, common.presences) = ([], nil, [])
        return common
    }

    /// Whether the two show their workspace alike, apart from what differs by member (`own`).
    public func sharesWorkspace(with other: GuildCreatePayload) -> Bool {
        withoutOwnPart == other.withoutOwnPart
    }
}

/// MESSAGE_DELETE's payload.
public struct MessageDeletePayload: Codable, Sendable, Equatable {
    public var id: Snowflake
    public var channel_id: Snowflake
    public var guild_id: Snowflake?
    public init(id: Snowflake, channelID: Snowflake, guildID: Snowflake?) {
        self.id = id
        channel_id = channelID
        guild_id = guildID
    }
}

/// GUILD_MEMBER_REMOVE's payload.
public struct MemberRemovePayload: Codable, Sendable, Equatable {
    public var guild_id: Snowflake
    public var user: User
    public init(guildID: Snowflake, user: User) {
        guild_id = guildID
        self.user = user
    }
}

/// GUILD_DELETE's payload.
public struct GuildDeletePayload: Codable, Sendable, Equatable {
    public var id: Snowflake
    public var unavailable: Bool = false
    public init(id: Snowflake) { self.id = id }
}

/// TYPING_START's payload (Unix seconds, as Discord sends).
public struct TypingStartPayload: Codable, Sendable, Equatable {
    public var channel_id: Snowflake
    public var guild_id: Snowflake?
    public var user_id: Snowflake
    public var timestamp: Int
    public var member: Member?
    public init(channelID: Snowflake, guildID: Snowflake?, userID: Snowflake, timestamp: Int, member: Member?) {
        channel_id = channelID
        guild_id = guildID
        user_id = userID
        self.timestamp = timestamp
        self.member = member
    }
}

extension GuildCreatePayload.Own {
    /// As `WireJSON.encodeString(self)` writes it.
    public func wireJSON() throws -> String {
        var out = JSONBytes(capacity: 512 * max(1, payload.members.count))
        out.raw("{")
        out.key("joined_at", first: true); out.optionalString(payload.joined_at)
        out.key("members"); out.array(payload.members) { $1.write(into: &$0) }
        out.key("presences"); try out.encodedArray(payload.presences)
        out.raw("}")
        return String(decoding: out.bytes, as: UTF8.self)
    }
}
