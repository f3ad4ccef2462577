/// Discord's channel types that Concord serves.
public enum ChannelType: Int, Codable, Sendable {
    case guildText = 0
    case dm = 1
    case guildCategory = 4
}

/// Discord's DM channel object: `recipients` are the other users, so each side sees its own.
public struct DMChannel: Codable, Sendable, Equatable {
    public var id: Snowflake
    public var type = ChannelType.dm.rawValue
    public var last_message_id: Snowflake?
    public var recipients: [User]
    public var flags = 0

    public init(id: Snowflake, lastMessageID: Snowflake?, recipients: [User]) {
        self.id = id
        self.last_message_id = lastMessageID
        self.recipients = recipients
    }

    /// The cell a DM between these two users is homed in: the lower id's, so both find it there.
    public static func homeCell(_ a: Snowflake, _ b: Snowflake) -> Int { min(a, b).cell }
}

/// Discord's channel object (guild text channels and categories).
public struct GuildChannel: Codable, Sendable, Equatable {
    public var id: Snowflake
    public var type: Int
    public var guild_id: Snowflake
    public var name: String
    public var topic: String?
    public var position: Int
    public var parent_id: Snowflake?
    public var nsfw: Bool
    public var last_message_id: Snowflake?
    public var rate_limit_per_user: Int = 0
    public var permission_overwrites: [ChannelOverwrite] = []
    public var flags: Int = 0

    public init(id: Snowflake, type: ChannelType, guildID: Snowflake, name: String, topic: String?,
                position: Int, parentID: Snowflake?, nsfw: Bool, lastMessageID: Snowflake?) {
        self.id = id
        self.type = type.rawValue
        self.guild_id = guildID
        self.name = name
        self.topic = topic
        self.position = position
        self.parent_id = parentID
        self.nsfw = nsfw
        self.last_message_id = lastMessageID
    }
}

/// A channel as `GET /channels/{id}` answers: a workspace's, or a DM.
public enum AnyChannel: Encodable, Sendable, Equatable {
    case guild(GuildChannel)
    case dm(DMChannel)

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .guild(let channel): try channel.encode(to: encoder)
        case .dm(let channel): try channel.encode(to: encoder)
        }
    }
}

/// Concord's share invite: the owner of a channel's workspace offers it to another workspace,
/// whose owner accepts it with `POST /guilds/{their workspace}/share-invites/{code}`.
public struct ShareInvite: Codable, Sendable, Equatable {
    public var code: String
    public var channel_id: Snowflake
    public var guild_id: Snowflake
    public var inviter_id: Snowflake
    public var expires_at: String
    public init(code: String, channelID: Snowflake, guildID: Snowflake, inviterID: Snowflake, expiresAt: String) {
        self.code = code
        channel_id = channelID
        guild_id = guildID
        inviter_id = inviterID
        expires_at = expiresAt
    }
}

/// Discord's invite object.
public struct Invite: Codable, Sendable, Equatable {
    public struct PartialChannel: Codable, Sendable, Equatable {
        public var id: Snowflake
        public var name: String
        public var type: Int
        public init(id: Snowflake, name: String, type: Int) { self.id = id; self.name = name; self.type = type }
    }
    public struct PartialGuild: Codable, Sendable, Equatable {
        public var id: Snowflake
        public var name: String
        public var icon: String?
        public var description: String?
        public var features: [String] = []
        // What the spec requires of an invite's guild that Concord has no use for, at "none".
        public var splash: String? = nil
        public var banner: String? = nil
        public var verification_level: Int? = 0
        public var vanity_url_code: String? = nil
        public var nsfw_level: Int? = 0
        public var nsfw: Bool? = false
        public var premium_subscription_count: Int = 0
        public init(id: Snowflake, name: String, icon: String?, description: String?) {
            self.id = id; self.name = name; self.icon = icon; self.description = description
        }
    }
    public var type: Int = 0
    public var code: String
    public var guild_id: Snowflake
    public var guild: PartialGuild
    public var channel: PartialChannel
    public var inviter: User?
    public var uses: Int
    public var max_uses: Int
    public var max_age: Int
    public var temporary: Bool
    public var created_at: String
    public var expires_at: String?

    public init(code: String, guild: PartialGuild, channel: PartialChannel, inviter: User?, uses: Int,
                maxUses: Int, maxAge: Int, temporary: Bool, createdAt: String, expiresAt: String?) {
        self.code = code
        guild_id = guild.id
        self.guild = guild
        self.channel = channel
        self.inviter = inviter
        self.uses = uses
        self.max_uses = maxUses
        self.max_age = maxAge
        self.temporary = temporary
        self.created_at = createdAt
        self.expires_at = expiresAt
    }
}
