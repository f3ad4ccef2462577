import Foundation

/// Discord's audit log events that Concord records.
public enum AuditLogAction: Int, Codable, Sendable, CaseIterable {
    case guildUpdate = 1
    case channelCreate = 10, channelUpdate = 11, channelDelete = 12
    case overwriteCreate = 13, overwriteUpdate = 14, overwriteDelete = 15
    case memberKick = 20, memberBanAdd = 22, memberBanRemove = 23, memberUpdate = 24, memberRoleUpdate = 25
    case roleCreate = 30, roleUpdate = 31, roleDelete = 32
    case inviteCreate = 40, inviteDelete = 42
    case messageDelete = 72, messageBulkDelete = 73, messagePin = 74, messageUnpin = 75
}

/// One change of an audit log entry: a field's value before and after (either may be absent).
public struct AuditLogChange: Codable, Sendable, Equatable {
    public var key: String
    public var new_value: JSONValue?
    public var old_value: JSONValue?

    public init(_ key: String, old: JSONValue? = nil, new: JSONValue? = nil) {
        self.key = key
        new_value = new
        old_value = old
    }

    /// The changes between two values of the same object, by their JSON fields; `keys` limits
    /// them to the fields an audit log shows.
    public static func between(_ old: (some Encodable)?, _ new: (some Encodable)?, keys: [String]) -> [AuditLogChange] {
        func fields(_ value: (some Encodable)?) -> [String: JSONValue] {
            guard let value, let data = try? WireJSON.encode(value), case .object(let object)? = try? WireJSON.decode(JSONValue.self, from: data) else { return [:] }
            return object
        }
        let (before, after) = (fields(old), fields(new))
        return keys.compactMap { key in
            let (o, n) = (before[key].flatMap { $0 == .null ? nil : $0 }, after[key].flatMap { $0 == .null ? nil : $0 })
            return o == n ? nil : AuditLogChange(key, old: o, new: n)
        }
    }
}

/// Discord's audit log entry object. `user_id` and `target_id` are always present (null when
/// there is none); `changes`, `options` and `reason` only when there are some.
public struct AuditLogEntry: Codable, Sendable, Equatable {
    public var id: Snowflake
    public var action_type: Int
    public var user_id: Snowflake?
    public var target_id: Snowflake?
    public var changes: [AuditLogChange]?
    public var options: [String: String]?
    public var reason: String?

    public init(id: Snowflake, action: AuditLogAction, userID: Snowflake?, targetID: Snowflake?, changes: [AuditLogChange]? = nil,
                options: [String: String]? = nil, reason: String? = nil) {
        self.id = id
        action_type = action.rawValue
        user_id = userID
        target_id = targetID
        self.changes = changes?.isEmpty == true ? nil : changes
        self.options = options
        self.reason = reason
    }

    private enum Keys: String, CodingKey { case id, action_type, user_id, target_id, changes, options, reason }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(id, forKey: .id)
        try c.encode(action_type, forKey: .action_type)
        try c.encode(user_id, forKey: .user_id)
        try c.encode(target_id, forKey: .target_id)
        // Absent, not null, when there are none (the spec allows no null here).
        if let changes { try c.encode(changes, forKey: .changes) }
        if let options { try c.encode(options, forKey: .options) }
        if let reason { try c.encode(reason, forKey: .reason) }
    }
}

/// `GET /guilds/{id}/audit-logs`: the entries, newest first, and the users they name.
public struct AuditLogResponse: Codable, Sendable, Equatable {
    public var audit_log_entries: [AuditLogEntry]
    public var users: [User]
    public var integrations: [JSONValue] = []
    public var webhooks: [JSONValue] = []
    public var guild_scheduled_events: [JSONValue] = []
    public var threads: [JSONValue] = []
    public var application_commands: [JSONValue] = []
    public var auto_moderation_rules: [JSONValue] = []

    public init(entries: [AuditLogEntry], users: [User]) {
        audit_log_entries = entries
        self.users = users
    }
}

extension Limits {
    /// Discord's bound on X-Audit-Log-Reason, in characters.
    public static let auditLogReason = 512
}
