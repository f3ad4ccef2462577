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
    public var team: JSONValue? = nil
    public var summary: String = ""
    public var rpc_origins: [String] = []

    public init(id: Snowflake, name: String, verifyKey: String, owner: User, bot: User?) {
        self.id = id
        self.name = name
        self.verify_key = verifyKey
        self.owner = owner
        self.bot = bot
    }
}
