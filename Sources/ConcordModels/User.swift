/// Discord's user object.
public struct User: Codable, Sendable, Equatable {
    public var id: Snowflake
    public var username: String
    public var discriminator: String = "0"
    public var global_name: String?
    public var avatar: String?
    public var bot: Bool
    public var system: Bool = false
    public var public_flags: Int = 0
    public var flags: Int = 0

    public init(id: Snowflake, username: String, globalName: String?, bot: Bool) {
        self.id = id
        self.username = username
        self.global_name = globalName
        self.bot = bot
    }

    private enum Keys: String, CodingKey {
        case id, username, discriminator, global_name, avatar, bot, system, public_flags, flags, primary_guild, banner, accent_color
    }

    /// Discord's user object has its nullable fields present as null (libraries index them), and
    /// `primary_guild` (Concord has no guild tags: null).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(id, forKey: .id)
        try c.encode(username, forKey: .username)
        try c.encode(discriminator, forKey: .discriminator)
        try c.encode(global_name, forKey: .global_name)
        try c.encode(avatar, forKey: .avatar)
        try c.encode(bot, forKey: .bot)
        try c.encode(system, forKey: .system)
        try c.encode(public_flags, forKey: .public_flags)
        try c.encode(flags, forKey: .flags)
        try c.encodeNil(forKey: .primary_guild)
        try c.encodeNil(forKey: .banner)
        try c.encodeNil(forKey: .accent_color)
    }
}

/// The current user (`GET /users/@me`, READY's `user`): the user object plus the fields Discord
/// gives only about oneself. Concord has no MFA, e-mail or Nitro: they read as off, none and none.
public struct CurrentUser: Encodable, Sendable, Equatable {
    public var user: User
    public init(_ user: User) { self.user = user }

    private enum Keys: String, CodingKey { case mfa_enabled, locale, verified, email, premium_type }
    public func encode(to encoder: any Encoder) throws {
        try user.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(false, forKey: .mfa_enabled)
        try c.encode("en-US", forKey: .locale)
        try c.encode(true, forKey: .verified)
        try c.encodeNil(forKey: .email)
        try c.encode(0, forKey: .premium_type)
    }
}

/// Discord's application object, the part bots read at start-up (`/oauth2/applications/@me`).
public struct Application: Codable, Sendable, Equatable {
    public var id: Snowflake
    public var name: String
    public var icon: String?
    public var description: String = ""
    public var bot_public: Bool = false
    public var bot_require_code_grant: Bool = false
    public var verify_key: String
    public var flags: Int = 0
    /// Discord always names an owner; a bot created without one owns itself.
    public var owner: User
    public var bot: User?
    public var team: JSONValue = .null
    public var summary: String = ""
    public var rpc_origins: [String] = []
    // What Discord's spec requires of an application that Concord has no use for, at "none".
    public var type: Int? = nil
    public var flags_new: String? = "0"
    public var redirect_uris: [String]? = []
    public var interactions_endpoint_url: String? = nil
    public var role_connections_verification_url: String? = nil
    public var approximate_guild_count: Int? = 0
    public var approximate_user_install_count: Int? = 0
    public var approximate_user_authorization_count: Int? = 0
    public var explicit_content_filter: Int? = 0
    public var eligible_oauth2_scopes: [String]? = []

    public init(id: Snowflake, name: String, verifyKey: String, owner: User, bot: User?) {
        self.id = id
        self.name = name
        self.verify_key = verifyKey
        self.owner = owner
        self.bot = bot
    }
}
