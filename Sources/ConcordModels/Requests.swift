/// Request bodies of the REST API, decoded identically at the edge (to validate before
/// forwarding) and at the cell (to act).

public struct AllowedMentions: Codable, Sendable, Equatable {
    public var parse: [String]?
    public var users: [Snowflake]?
    public var roles: [Snowflake]?
    public var replied_user: Bool?
    public init(parse: [String]? = nil, users: [Snowflake]? = nil, repliedUser: Bool? = nil) {
        self.parse = parse
        self.users = users
        self.replied_user = repliedUser
    }
}

public struct MessageCreateRequest: Codable, Sendable, Equatable {
    public var content: String?
    public var nonce: JSONValue?
    /// With a nonce: a repeat of the same nonce within a few minutes answers the first message.
    public var enforce_nonce: Bool?
    public var tts: Bool?
    public var embeds: [Embed]?
    public var embed: Embed?
    public var allowed_mentions: AllowedMentions?
    public var message_reference: MessageReference?
    public var components: [JSONValue]?
    public var sticker_ids: [Snowflake]?
    public var flags: Int?
    public var attachments: [AttachmentRequest]?

    public init(content: String? = nil, nonce: JSONValue? = nil, embeds: [Embed]? = nil,
                allowedMentions: AllowedMentions? = nil, reference: MessageReference? = nil) {
        self.content = content
        self.nonce = nonce
        self.embeds = embeds
        self.allowed_mentions = allowedMentions
        self.message_reference = reference
    }

    /// The nonce as `enforce_nonce` compares it (a string, or an integer's digits).
    public var enforcedNonce: String? {
        guard enforce_nonce == true else { return nil }
        switch nonce {
        case .string(let s)?: return s
        case .int(let i)?: return String(i)
        default: return nil
        }
    }

    /// `embed` is the legacy single-embed field; both count toward the limit.
    public var allEmbeds: [Embed] { (embeds ?? []) + (embed.map { [$0] } ?? []) }
}

public struct MessageEditRequest: Codable, Sendable, Equatable {
    public var content: PatchField<String> = .absent
    public var embeds: PatchField<[Embed]> = .absent
    public var flags: PatchField<Int> = .absent
    public var components: PatchField<[JSONValue]> = .absent
    public var allowed_mentions: AllowedMentions?
    /// The attachments the message keeps (by id) and gains (by upload index); absent: unchanged.
    public var attachments: PatchField<[AttachmentRequest]> = .absent

    private enum Keys: String, CodingKey { case content, embeds, embed, flags, components, allowed_mentions, attachments }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        content = try c.decodePatch(String.self, forKey: .content)
        embeds = try c.decodePatch([Embed].self, forKey: .embeds)
        if embeds.isAbsent {
            switch try c.decodePatch(Embed.self, forKey: .embed) {
            case .absent: break
            case .null: embeds = .null
            case .value(let e): embeds = .value([e])
            }
        }
        flags = try c.decodePatch(Int.self, forKey: .flags)
        components = try c.decodePatch([JSONValue].self, forKey: .components)
        allowed_mentions = try c.decodeIfPresent(AllowedMentions.self, forKey: .allowed_mentions)
        attachments = try c.decodePatch([AttachmentRequest].self, forKey: .attachments)
    }

    /// As the client sent it (`embed` folded into `embeds`), for a cell handing the edit on.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encodePatch(content, forKey: .content)
        try c.encodePatch(embeds, forKey: .embeds)
        try c.encodePatch(flags, forKey: .flags)
        try c.encodePatch(components, forKey: .components)
        try c.encodeIfPresent(allowed_mentions, forKey: .allowed_mentions)
        try c.encodePatch(attachments, forKey: .attachments)
    }
}

/// `POST /users/@me/channels`: open (or find) the DM with one user.
public struct DMCreateRequest: Codable, Sendable, Equatable {
    public var recipient_id: Snowflake
    public init(recipientID: Snowflake) { recipient_id = recipientID }
}

public struct GuildCreateRequest: Codable, Sendable, Equatable {
    public var name: String
    public var description: String?
    public init(name: String) { self.name = name }
}

public struct GuildModifyRequest: Decodable, Sendable, Equatable {
    public var name: PatchField<String> = .absent
    public var description: PatchField<String> = .absent
    public var system_channel_id: PatchField<Snowflake> = .absent

    private enum Keys: String, CodingKey { case name, description, system_channel_id }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        name = try c.decodePatch(String.self, forKey: .name)
        description = try c.decodePatch(String.self, forKey: .description)
        system_channel_id = try c.decodePatch(Snowflake.self, forKey: .system_channel_id)
    }
}

public struct ChannelCreateRequest: Codable, Sendable, Equatable {
    public var name: String
    public var type: Int?
    public var topic: String?
    public var position: Int?
    public var parent_id: Snowflake?
    public var nsfw: Bool?
    /// Without it, a channel made in a category starts with the category's overwrites.
    public var permission_overwrites: [OverwriteRequest]?
    public init(name: String, type: ChannelType? = nil, topic: String? = nil, parentID: Snowflake? = nil,
                permissionOverwrites: [OverwriteRequest]? = nil) {
        self.name = name
        self.type = type?.rawValue
        self.topic = topic
        self.parent_id = parentID
        self.permission_overwrites = permissionOverwrites
    }
}

public struct ChannelModifyRequest: Decodable, Sendable, Equatable {
    public var name: PatchField<String> = .absent
    public var topic: PatchField<String> = .absent
    public var position: PatchField<Int> = .absent
    public var parent_id: PatchField<Snowflake> = .absent
    public var nsfw: PatchField<Bool> = .absent
    public var permission_overwrites: PatchField<[OverwriteRequest]> = .absent

    private enum Keys: String, CodingKey { case name, topic, position, parent_id, nsfw, permission_overwrites }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        name = try c.decodePatch(String.self, forKey: .name)
        topic = try c.decodePatch(String.self, forKey: .topic)
        position = try c.decodePatch(Int.self, forKey: .position)
        parent_id = try c.decodePatch(Snowflake.self, forKey: .parent_id)
        nsfw = try c.decodePatch(Bool.self, forKey: .nsfw)
        permission_overwrites = try c.decodePatch([OverwriteRequest].self, forKey: .permission_overwrites)
    }
}

public struct InviteCreateRequest: Codable, Sendable, Equatable {
    public var max_age: Int?
    public var max_uses: Int?
    public var temporary: Bool?
    public var unique: Bool?
    public init(maxAge: Int? = nil, maxUses: Int? = nil) {
        max_age = maxAge
        max_uses = maxUses
    }
}

public struct RegisterRequest: Codable, Sendable, Equatable {
    public var username: String
    public var password: String
    public var global_name: String?
    public var email: String?
    public init(username: String, password: String, globalName: String? = nil) {
        self.username = username
        self.password = password
        self.global_name = globalName
    }
}

public struct LoginRequest: Codable, Sendable, Equatable {
    public var login: String
    public var password: String
    public init(login: String, password: String) {
        self.login = login
        self.password = password
    }
}

/// The answer to register and login: Discord's `{"token", "user_id"}`.
public struct TokenResponse: Codable, Sendable, Equatable {
    public var token: String
    public var user_id: Snowflake
    public init(token: String, userID: Snowflake) {
        self.token = token
        self.user_id = userID
    }
}
