/// Discord's permission overwrite object: a channel's grants and denials for one role
/// (`type` 0) or one member (`type` 1), permissions as decimal strings.
public struct ChannelOverwrite: Codable, Sendable, Equatable {
    public static let role = 0
    public static let member = 1

    public var id: Snowflake
    public var type: Int
    public var allow: String
    public var deny: String

    public init(id: Snowflake, type: Int, allow: Permissions, deny: Permissions) {
        self.id = id
        self.type = type
        self.allow = String(allow.rawValue)
        self.deny = String(deny.rawValue)
    }

    public var allowSet: Permissions { Permissions(rawValue: UInt64(allow) ?? 0) }
    public var denySet: Permissions { Permissions(rawValue: UInt64(deny) ?? 0) }
    /// Every permission it grants or denies: what one must hold to set or remove it.
    public var named: Permissions { allowSet.union(denySet) }
}

/// A permission field as clients send it: Discord's decimal string, or (older libraries) a number.
public struct WirePermissions: Codable, Sendable, Equatable {
    /// nil when what was sent is not a permission set Concord knows.
    public var value: Permissions?
    public var text: String

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(UInt64.self) {
            text = String(number)
        } else {
            text = try container.decode(String.self)
        }
        value = UInt64(text).flatMap { $0 & ~Permissions.all.rawValue == 0 ? Permissions(rawValue: $0) : nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    public init(_ permissions: Permissions) {
        value = permissions
        text = String(permissions.rawValue)
    }
}

/// An overwrite in a channel create or modify body, or the body of
/// `PUT /channels/{id}/permissions/{overwrite}` (which names the id in its path).
public struct OverwriteRequest: Codable, Sendable, Equatable {
    public var id: Snowflake?
    public var type: Int?
    public var allow: WirePermissions?
    public var deny: WirePermissions?

    public init(id: Snowflake? = nil, type: Int, allow: Permissions = [], deny: Permissions = []) {
        self.id = id
        self.type = type
        self.allow = WirePermissions(allow)
        self.deny = WirePermissions(deny)
    }

    /// The overwrite it asks for (valid after `Validation.validate`).
    public func overwrite(id: Snowflake) -> ChannelOverwrite {
        ChannelOverwrite(id: id, type: type ?? ChannelOverwrite.role, allow: allow?.value ?? [], deny: deny?.value ?? [])
    }
}

extension Limits {
    /// Overwrites one channel may hold (Discord does not document its own; this bounds a row).
    public static let overwritesPerChannel = 100
}

extension Validation {
    public static func validate(_ r: OverwriteRequest) throws {
        var errors = FormErrors()
        check(r, at: [], into: &errors)
        try errors.throwIfAny()
    }

    /// Checks a list of overwrites (a channel create or modify body's `permission_overwrites`).
    public static func check(_ overwrites: [OverwriteRequest], into errors: inout FormErrors) {
        if overwrites.count > Limits.overwritesPerChannel {
            errors.add(["permission_overwrites"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be \(Limits.overwritesPerChannel) or fewer in length.")
        }
        for (index, overwrite) in overwrites.prefix(Limits.overwritesPerChannel).enumerated() {
            let path = ["permission_overwrites", "\(index)"]
            if overwrite.id == nil { errors.add(path + ["id"], code: "BASE_TYPE_REQUIRED", message: "This field is required") }
            check(overwrite, at: path, into: &errors)
        }
    }

    static func check(_ r: OverwriteRequest, at path: [String], into errors: inout FormErrors) {
        if let type = r.type {
            if type != ChannelOverwrite.role && type != ChannelOverwrite.member {
                errors.add(path + ["type"], code: "BASE_TYPE_CHOICES", message: "Value must be one of {0, 1}.")
            }
        } else {
            errors.add(path + ["type"], code: "BASE_TYPE_REQUIRED", message: "This field is required")
        }
        for (name, field) in [("allow", r.allow), ("deny", r.deny)] where field != nil && field?.value == nil {
            errors.add(path + [name], code: "NUMBER_TYPE_COERCE", message: "Value \"\(field!.text.prefix(40))\" is not a valid permission set.")
        }
    }
}
