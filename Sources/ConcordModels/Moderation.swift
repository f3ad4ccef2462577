import Foundation

/// `PATCH /guilds/{id}/members/{user}`: a nickname, the whole set of roles, a timeout (an ISO
/// 8601 time at most 28 days ahead; null lifts it). Absent fields stay as they are.
public struct MemberModifyRequest: Decodable, Sendable, Equatable {
    public var nick: PatchField<String> = .absent
    public var roles: [Snowflake]?
    public var communication_disabled_until: PatchField<String> = .absent

    private enum Keys: String, CodingKey { case nick, roles, communication_disabled_until }
    public init(nick: PatchField<String> = .absent) { self.nick = nick }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        nick = try c.decodePatch(String.self, forKey: .nick)
        roles = try c.decodeIfPresent([Snowflake].self, forKey: .roles)
        communication_disabled_until = try c.decodePatch(String.self, forKey: .communication_disabled_until)
    }

    /// The timeout asked for: nil when absent, .some(nil) to lift it.
    public var timeout: Date?? {
        switch communication_disabled_until {
        case .absent: nil
        case .null: .some(nil)
        case .value(let text): .some(DiscordTimestamp.date(from: text))
        }
    }
}

/// `PATCH /guilds/{id}/members/@me`: one's own nickname.
public struct CurrentMemberModifyRequest: Decodable, Sendable, Equatable {
    public var nick: PatchField<String> = .absent
    private enum Keys: String, CodingKey { case nick }
    public init(from decoder: any Decoder) throws {
        nick = try decoder.container(keyedBy: Keys.self).decodePatch(String.self, forKey: .nick)
    }
}

/// `PUT /guilds/{id}/bans/{user}`: how many seconds back the user's messages go with them.
public struct BanRequest: Decodable, Sendable, Equatable {
    public var delete_message_seconds: Int?
    public var delete_message_days: Int?
    public init(deleteMessageSeconds: Int? = nil) { delete_message_seconds = deleteMessageSeconds }

    /// Seconds of messages to delete (the older days field still works, as on Discord).
    public var deletedSeconds: Int { delete_message_seconds ?? delete_message_days.map { $0 * 86_400 } ?? 0 }
}

/// `POST /guilds/{id}/bulk-ban`'s body: up to 200 users at once.
public struct BulkBanRequest: Codable, Sendable, Equatable {
    public var user_ids: [Snowflake]
    public var delete_message_seconds: Int?
    public init(userIDs: [Snowflake], deleteMessageSeconds: Int? = nil) { user_ids = userIDs; delete_message_seconds = deleteMessageSeconds }
}

/// `POST /guilds/{id}/bulk-ban`'s answer: who was banned, and who was not (already banned, or
/// out of the caller's reach).
public struct BulkBanResponse: Codable, Sendable, Equatable {
    public var banned_users: [Snowflake]
    public var failed_users: [Snowflake]
    public init(banned: [Snowflake], failed: [Snowflake]) { banned_users = banned; failed_users = failed }
}

/// Discord's ban object.
public struct Ban: Codable, Sendable, Equatable {
    public var reason: String?
    public var user: User
    public init(reason: String?, user: User) { self.reason = reason; self.user = user }
}

/// GUILD_BAN_ADD's and GUILD_BAN_REMOVE's payload.
public struct GuildBanPayload: Codable, Sendable, Equatable {
    public var guild_id: Snowflake
    public var user: User
    public init(guildID: Snowflake, user: User) { guild_id = guildID; self.user = user }
}

extension Validation {
    /// Discord's longest timeout.
    public static let longestTimeout: TimeInterval = 28 * 86_400

    public static func validate(_ r: MemberModifyRequest) throws {
        var errors = FormErrors()
        if case .value(let nick) = r.nick { errors.maxLength(nick, 32, ["nick"]) }
        if (r.roles ?? []).count > 250 { errors.add(["roles"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be 250 or fewer in length.") }
        if case .value(let text) = r.communication_disabled_until {
            if let until = DiscordTimestamp.date(from: text) {
                if until.timeIntervalSinceNow > longestTimeout + 60 {
                    errors.add(["communication_disabled_until"], code: "BASE_TYPE_BAD_TIME", message: "A timeout can last at most 28 days.")
                }
            } else {
                errors.add(["communication_disabled_until"], code: "DATE_TIME_TYPE_PARSE", message: "Could not parse \(text.prefix(40)). Should be ISO8601.")
            }
        }
        try errors.throwIfAny()
    }

    public static func validate(_ r: CurrentMemberModifyRequest) throws {
        var errors = FormErrors()
        if case .value(let nick) = r.nick { errors.maxLength(nick, 32, ["nick"]) }
        try errors.throwIfAny()
    }

    public static func validate(_ r: BanRequest) throws {
        var errors = FormErrors()
        if let seconds = r.delete_message_seconds, !(0...604_800).contains(seconds) {
            errors.add(["delete_message_seconds"], code: "NUMBER_TYPE_MAX", message: "int value should be between 0 and 604800.")
        }
        if let days = r.delete_message_days, !(0...7).contains(days) {
            errors.add(["delete_message_days"], code: "NUMBER_TYPE_MAX", message: "int value should be between 0 and 7.")
        }
        try errors.throwIfAny()
    }

    public static func validate(_ r: BulkBanRequest) throws {
        var errors = FormErrors()
        if r.user_ids.isEmpty || r.user_ids.count > 200 {
            errors.add(["user_ids"], code: "BASE_TYPE_BAD_LENGTH", message: "Must be between 1 and 200 in length.")
        }
        if let seconds = r.delete_message_seconds, !(0...604_800).contains(seconds) {
            errors.add(["delete_message_seconds"], code: "NUMBER_TYPE_MAX", message: "int value should be between 0 and 604800.")
        }
        try errors.throwIfAny()
    }
}
