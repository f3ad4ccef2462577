/// `POST /guilds/{id}/roles` and `PATCH /guilds/{id}/roles/{role}`: every field optional (a
/// new role gets Discord's defaults; an edit changes only what it names). `permissions` is
/// the decimal string of the 64-bit field, as Discord sends it.
public struct RoleRequest: Decodable, Sendable, Equatable {
    public var name: String?
    public var permissions: String?
    public var color: Int?
    public var hoist: Bool?
    public var mentionable: Bool?

    public init(name: String? = nil, permissions: String? = nil, color: Int? = nil, hoist: Bool? = nil, mentionable: Bool? = nil) {
        self.name = name; self.permissions = permissions; self.color = color; self.hoist = hoist; self.mentionable = mentionable
    }

    /// The permissions asked for, when named.
    public var permissionSet: Permissions? { permissions.flatMap { UInt64($0) }.map(Permissions.init(rawValue:)) }
}

/// One entry of `PATCH /guilds/{id}/roles` (Discord's bulk position change).
public struct RolePosition: Decodable, Sendable, Equatable {
    public var id: Snowflake
    public var position: Int?
}

/// GUILD_ROLE_CREATE's and GUILD_ROLE_UPDATE's payload.
public struct GuildRolePayload: Codable, Sendable, Equatable {
    public var guild_id: Snowflake
    public var role: Role
    public init(guildID: Snowflake, role: Role) { guild_id = guildID; self.role = role }
}

/// GUILD_ROLE_DELETE's payload.
public struct GuildRoleDeletePayload: Codable, Sendable, Equatable {
    public var guild_id: Snowflake
    public var role_id: Snowflake
    public init(guildID: Snowflake, roleID: Snowflake) { guild_id = guildID; role_id = roleID }
}

extension Validation {
    public static func validate(_ r: RoleRequest) throws {
        var errors = FormErrors()
        if let name = r.name { errors.lengthBetween(name, 1...100, ["name"]) }
        if let permissions = r.permissions, UInt64(permissions) == nil || UInt64(permissions)! & ~Permissions.all.rawValue != 0 {
            errors.add(["permissions"], code: "NUMBER_TYPE_COERCE", message: "Value \"\(permissions.prefix(40))\" is not a valid permission set.")
        }
        if let color = r.color, !(0...0xFFFFFF).contains(color) {
            errors.add(["color"], code: "NUMBER_TYPE_MAX", message: "int value should be between 0 and 16777215.")
        }
        try errors.throwIfAny()
    }

    public static func validate(_ positions: [RolePosition]) throws {
        var errors = FormErrors()
        if positions.count > 250 { errors.add([], code: "BASE_TYPE_MAX_LENGTH", message: "Must be 250 or fewer in length.") }
        for (index, entry) in positions.enumerated() where entry.position.map({ !(0...250).contains($0) }) ?? false {
            errors.add(["\(index)", "position"], code: "NUMBER_TYPE_MAX", message: "int value should be between 0 and 250.")
        }
        try errors.throwIfAny()
    }
}
