import ConcordModels

/// Discord gateway v10 opcodes.
public enum GatewayOpcode: Int, Sendable {
    case dispatch = 0
    case heartbeat = 1
    case identify = 2
    case presenceUpdate = 3
    case voiceStateUpdate = 4
    case resume = 6
    case reconnect = 7
    case requestGuildMembers = 8
    case invalidSession = 9
    case hello = 10
    case heartbeatAck = 11
    /// Concord's extension: per-channel subscription levels (see SubscriptionLevels).
    case channelSubscriptions = 40
}

/// Discord's gateway close codes.
public enum GatewayCloseCode: UInt16, Sendable, Equatable {
    case unknownError = 4000
    case unknownOpcode = 4001
    case decodeError = 4002
    case notAuthenticated = 4003
    case authenticationFailed = 4004
    case alreadyAuthenticated = 4005
    case invalidSequence = 4007
    case rateLimited = 4008
    case sessionTimedOut = 4009
    case invalidShard = 4010
    case shardingRequired = 4011
    case invalidAPIVersion = 4012
    case invalidIntents = 4013
    case disallowedIntents = 4014

    public var reason: String {
        switch self {
        case .unknownError: "Unknown error."
        case .unknownOpcode: "Unknown opcode."
        case .decodeError: "Decode error."
        case .notAuthenticated: "Not authenticated."
        case .authenticationFailed: "Authentication failed."
        case .alreadyAuthenticated: "Already authenticated."
        case .invalidSequence: "Invalid seq."
        case .rateLimited: "Rate limited."
        case .sessionTimedOut: "Session timed out."
        case .invalidShard: "Invalid shard."
        case .shardingRequired: "Sharding required."
        case .invalidAPIVersion: "Invalid API version."
        case .invalidIntents: "Invalid intent(s)."
        case .disallowedIntents: "Disallowed intent(s)."
        }
    }
}

/// Gateway intents: which events a session receives.
public struct Intents: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let guilds = Intents(rawValue: 1 << 0)
    public static let guildMembers = Intents(rawValue: 1 << 1)
    public static let guildModeration = Intents(rawValue: 1 << 2)
    public static let guildPresences = Intents(rawValue: 1 << 8)
    public static let guildMessages = Intents(rawValue: 1 << 9)
    public static let guildMessageReactions = Intents(rawValue: 1 << 10)
    public static let guildMessageTyping = Intents(rawValue: 1 << 11)
    public static let directMessages = Intents(rawValue: 1 << 12)
    public static let directMessageReactions = Intents(rawValue: 1 << 13)
    public static let directMessageTyping = Intents(rawValue: 1 << 14)
    public static let messageContent = Intents(rawValue: 1 << 15)
    /// Every intent Discord defines up to bit 25; anything above is invalid (close 4013).
    public static let known = Intents(rawValue: (1 << 26) - 1)
    /// Privileged intents; Concord grants them to every bot (the operator added the bot).
    public static let privileged: Intents = [.guildMembers, .guildPresences, .messageContent]

    /// The intent an event needs, or nil when every session receives it. `direct`: the event is
    /// a DM's, which Discord gates with the DIRECT_MESSAGES intents instead.
    public static func required(for eventType: String, direct: Bool = false) -> Intents? {
        if direct {
            switch eventType {
            case "MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "CHANNEL_PINS_UPDATE": return .directMessages
            case _ where eventType.hasPrefix("MESSAGE_REACTION_"): return .directMessageReactions
            case "TYPING_START": return .directMessageTyping
            default: return nil
            }
        }
        return switch eventType {
        case "GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE", "CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE",
             "GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE", "GUILD_ROLE_DELETE", "CHANNEL_PINS_UPDATE": .guilds
        case "GUILD_BAN_ADD", "GUILD_BAN_REMOVE", "GUILD_AUDIT_LOG_ENTRY_CREATE": .guildModeration
        case "GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE": .guildMembers
        case "MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK": .guildMessages
        case _ where eventType.hasPrefix("MESSAGE_REACTION_"): .guildMessageReactions
        case "TYPING_START": .guildMessageTyping
        case "PRESENCE_UPDATE": .guildPresences
        default: nil
        }
    }
}

/// The largest payload a client may send (Discord closes larger ones with 4002).
public let maximumClientPayloadBytes = 4096
/// Discord's heartbeat interval; clients heartbeat at this period with jitter.
public let defaultHeartbeatInterval: Duration = .milliseconds(41_250)
