/// Discord's guild object: a Concord workspace.
public struct Guild: Codable, Sendable, Equatable {
    public var id: Snowflake
    public var name: String
    public var icon: String?
    public var splash: String? = nil
    public var discovery_splash: String? = nil
    public var description: String?
    public var owner_id: Snowflake
    public var afk_channel_id: Snowflake? = nil
    public var afk_timeout: Int = 300
    public var verification_level: Int = 0
    public var default_message_notifications: Int = 0
    public var explicit_content_filter: Int = 0
    public var roles: [Role]
    public var emojis: [JSONValue] = []
    public var stickers: [JSONValue] = []
    public var features: [String] = []
    public var mfa_level: Int = 0
    public var application_id: Snowflake? = nil
    public var system_channel_id: Snowflake?
    public var system_channel_flags: Int = 0
    public var rules_channel_id: Snowflake? = nil
    public var public_updates_channel_id: Snowflake? = nil
    public var vanity_url_code: String? = nil
    public var banner: String? = nil
    public var premium_tier: Int = 0
    public var premium_subscription_count: Int = 0
    public var preferred_locale: String = "en-US"
    public var nsfw_level: Int = 0
    public var premium_progress_bar_enabled: Bool = false
    public var max_members: Int = 500_000
    public var approximate_member_count: Int?
    public var approximate_presence_count: Int?
    // Fields Discord's spec requires that Concord has no use for, at their "none" values
    // (optional, so a guild object written before they existed still reads).
    public var home_header: String? = nil
    public var region: String? = "deprecated"
    public var widget_enabled: Bool? = false
    public var widget_channel_id: Snowflake? = nil
    public var max_presences: Int? = nil
    public var max_stage_video_channel_users: Int? = 0
    public var max_video_channel_users: Int? = 0
    public var safety_alerts_channel_id: Snowflake? = nil
    public var nsfw: Bool? = false
    // Required by the spec, null when there are no incidents (raids, DM spam) to report.
    public var incidents_data: JSONValue = .null

    public init(id: Snowflake, name: String, description: String?, ownerID: Snowflake,
                systemChannelID: Snowflake?, memberCount: Int? = nil) {
        self.id = id
        self.name = name
        self.description = description
        self.owner_id = ownerID
        self.roles = [Role.everyone(guildID: id)]
        self.system_channel_id = systemChannelID
        self.approximate_member_count = memberCount
    }
}

/// The guild entry of `GET /users/@me/guilds`.
public struct PartialGuild: Codable, Sendable, Equatable {
    public var id: Snowflake
    public var name: String
    public var icon: String?
    public var banner: String? = nil
    public var owner: Bool
    public var permissions: String
    public var features: [String] = []

    public init(id: Snowflake, name: String, owner: Bool, permissions: Permissions) {
        self.id = id
        self.name = name
        self.owner = owner
        self.permissions = String(permissions.rawValue)
    }
}

/// Discord's role object. `@everyone`'s id is the workspace's, as in Discord.
public struct Role: Codable, Sendable, Equatable {
    public var id: Snowflake
    public var name: String
    public var color: Int = 0
    public var hoist: Bool = false
    public var icon: String? = nil
    public var unicode_emoji: String? = nil
    public var position: Int = 0
    public var permissions: String
    public var managed: Bool = false
    public var mentionable: Bool = false
    public var flags: Int = 0

    public init(id: Snowflake, name: String, permissions: String) {
        self.id = id
        self.name = name
        self.permissions = permissions
    }

    private enum Keys: String, CodingKey {
        case id, name, color, colors, hoist, icon, unicode_emoji, position, permissions, managed, mentionable, flags
    }
    private enum ColorKeys: String, CodingKey { case primary_color, secondary_color, tertiary_color }

    /// With Discord's `colors` (a role's one color as its primary) and its nullable fields as null.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(color, forKey: .color)
        var colors = c.nestedContainer(keyedBy: ColorKeys.self, forKey: .colors)
        try colors.encode(color, forKey: .primary_color)
        try colors.encodeNil(forKey: .secondary_color)
        try colors.encodeNil(forKey: .tertiary_color)
        try c.encode(hoist, forKey: .hoist)
        try c.encode(icon, forKey: .icon)
        try c.encode(unicode_emoji, forKey: .unicode_emoji)
        try c.encode(position, forKey: .position)
        try c.encode(permissions, forKey: .permissions)
        try c.encode(managed, forKey: .managed)
        try c.encode(mentionable, forKey: .mentionable)
        try c.encode(flags, forKey: .flags)
    }

    /// The permissions as bits (the wire carries a decimal string).
    public var permissionSet: Permissions { Permissions(rawValue: UInt64(permissions) ?? 0) }

    public static func everyone(guildID: Snowflake) -> Role {
        Role(id: guildID, name: "@everyone", permissions: String(Permissions.everyoneDefault.rawValue))
    }
}

/// Discord's guild member object.
public struct Member: Codable, Sendable, Equatable {
    public var user: User?
    public var nick: String?
    public var avatar: String? = nil
    public var roles: [Snowflake] = []
    public var joined_at: String
    public var premium_since: String? = nil
    public var deaf: Bool = false
    public var mute: Bool = false
    public var flags: Int = 0
    public var pending: Bool = false
    public var communication_disabled_until: String? = nil
    public var banner: String? = nil

    public init(user: User?, nick: String?, joinedAt: String) {
        self.user = user
        self.nick = nick
        self.joined_at = joinedAt
    }
}
