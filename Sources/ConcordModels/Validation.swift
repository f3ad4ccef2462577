/// Discord's limits, checked in one place so the edge refuses bad input before it reaches a
/// cell and the cell applies the same rules again.
public enum Limits {
    public static let contentLength = 2000
    public static let embedsPerMessage = 10
    public static let embedTitle = 256
    public static let embedDescription = 4096
    public static let embedFields = 25
    public static let embedFieldName = 256
    public static let embedFieldValue = 1024
    public static let embedFooter = 2048
    public static let embedAuthorName = 256
    public static let embedTotal = 6000
    public static let embedURL = 2048
    public static let embedType = 32
    public static let embedTimestamp = 64
    public static let embedProviderName = 256
    public static let embedColor = 0...0xFF_FFFF
    public static let mediaDimension = 0...65_535
    public static let componentString = 512
    public static let componentLabel = 80
    public static let componentCustomID = 100
    public static let componentPlaceholder = 150
    public static let componentList = 25
    public static let stickers = 3
    public static let nonceLength = 25
    public static let reactionEmojiPerMessage = 20
    /// Files a message may carry, and how many bytes of them one request may upload unless the
    /// cluster says otherwise (Discord's 10 MiB).
    public static let attachmentsPerMessage = 10
    public static let uploadBytes = 10 << 20
    public static let filenameLength = 100
    public static let attachmentDescription = 1024
    public static let reactionUsersPage = 1...100
    public static let pinsPerChannel = 250
    public static let pinsPage = 1...50
    public static let bulkDelete = 2...100
    /// Bulk delete takes messages younger than this (Discord's 14 days).
    public static let bulkDeleteMaxAgeSeconds: Double = 14 * 86_400
    public static let actionRows = 5
    public static let componentsPerRow = 5
    public static let allowedMentionUsers = 100
    public static let guildName = 2...100
    public static let channelName = 1...100
    public static let channelTopic = 1024
    public static let inviteMaxAge = 0...604_800
    public static let inviteMaxUses = 0...100
    public static let username = 2...32
    public static let password = 8...128
    public static let globalName = 1...32
    public static let pageSize = 1...100
    public static let memberPageSize = 1...1000
    /// Largest request body the REST API reads (JSON only; attachments are not served yet).
    public static let requestBodyBytes = 256 * 1024
}

/// Discord counts characters as Unicode code points.
func length(_ s: String) -> Int { s.unicodeScalars.count }

extension FormErrors {
    public mutating func maxLength(_ value: String?, _ max: Int, _ path: [String]) {
        if let value, length(value) > max {
            add(path, code: "BASE_TYPE_MAX_LENGTH", message: "Must be \(max) or fewer in length.")
        }
    }
    public mutating func lengthBetween(_ value: String, _ range: ClosedRange<Int>, _ path: [String]) {
        if !range.contains(length(value)) {
            add(path, code: "BASE_TYPE_BAD_LENGTH", message: "Must be between \(range.lowerBound) and \(range.upperBound) in length.")
        }
    }
    public mutating func between(_ value: Int?, _ range: ClosedRange<Int>, _ path: [String]) {
        if let value, !range.contains(value) {
            add(path, code: "NUMBER_TYPE_MAX", message: "int value should be between \(range.lowerBound) and \(range.upperBound).")
        }
    }
}

public enum Validation {
    public static func validate(_ r: MessageCreateRequest) throws {
        var errors = FormErrors()
        errors.maxLength(r.content, Limits.contentLength, ["content"])
        validateEmbeds(r.allEmbeds, into: &errors)
        if case .string(let nonce)? = r.nonce { errors.maxLength(nonce, Limits.nonceLength, ["nonce"]) }
        if let nonce = r.nonce {
            switch nonce {
            case .string, .int, .null: break
            default: errors.add(["nonce"], code: "BASE_TYPE_INVALID", message: "Nonce must be a string or an integer.")
            }
        }
        validateComponents(r.components, into: &errors)
        validateAllowedMentions(r.allowed_mentions, into: &errors)
        if (r.sticker_ids ?? []).count > Limits.stickers {
            errors.add(["sticker_ids"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be \(Limits.stickers) or fewer in length.")
        }
        validateAttachments(r.attachments, into: &errors)
        if let ref = r.message_reference, ref.message_id == nil {
            errors.add(["message_reference", "message_id"], code: "BASE_TYPE_REQUIRED", message: "This field is required")
        }
        try errors.throwIfAny()
        let hasContent = !(r.content ?? "").allSatisfy(\.isWhitespace)
        if !hasContent && r.allEmbeds.isEmpty && (r.components ?? []).isEmpty && (r.sticker_ids ?? []).isEmpty && (r.attachments ?? []).isEmpty {
            throw APIError.emptyMessage
        }
    }

    public static func validate(_ r: MessageEditRequest) throws {
        var errors = FormErrors()
        if case .value(let content) = r.content { errors.maxLength(content, Limits.contentLength, ["content"]) }
        if case .value(let embeds) = r.embeds { validateEmbeds(embeds, into: &errors) }
        if case .value(let components) = r.components { validateComponents(components, into: &errors) }
        if case .value(let attachments) = r.attachments { validateAttachments(attachments, into: &errors) }
        validateAllowedMentions(r.allowed_mentions, into: &errors)
        try errors.throwIfAny()
    }

    static func validateAttachments(_ attachments: [AttachmentRequest]?, into errors: inout FormErrors) {
        guard let attachments else { return }
        if attachments.count > Limits.attachmentsPerMessage {
            errors.add(["attachments"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be \(Limits.attachmentsPerMessage) or fewer in length.")
            return
        }
        for (i, a) in attachments.enumerated() {
            if a.number == nil { errors.add(["attachments", String(i), "id"], code: "BASE_TYPE_REQUIRED", message: "This field is required") }
            errors.maxLength(a.filename, Limits.filenameLength * 4, ["attachments", String(i), "filename"])
            errors.maxLength(a.description, Limits.attachmentDescription, ["attachments", String(i), "description"])
        }
    }

    static func validateEmbeds(_ embeds: [Embed], into errors: inout FormErrors) {
        if embeds.count > Limits.embedsPerMessage {
            errors.add(["embeds"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be \(Limits.embedsPerMessage) or fewer in length.")
            return
        }
        var total = 0
        for (i, e) in embeds.enumerated() {
            let p = ["embeds", String(i)]
            errors.maxLength(e.title, Limits.embedTitle, p + ["title"])
            errors.maxLength(e.description, Limits.embedDescription, p + ["description"])
            errors.maxLength(e.footer?.text, Limits.embedFooter, p + ["footer", "text"])
            errors.maxLength(e.author?.name, Limits.embedAuthorName, p + ["author", "name"])
            for (value, name) in [(e.url, ["url"]), (e.footer?.icon_url, ["footer", "icon_url"]), (e.image?.url, ["image", "url"]),
                                  (e.thumbnail?.url, ["thumbnail", "url"]), (e.video?.url, ["video", "url"]),
                                  (e.provider?.url, ["provider", "url"]), (e.author?.url, ["author", "url"]),
                                  (e.author?.icon_url, ["author", "icon_url"])] {
                errors.maxLength(value, Limits.embedURL, p + name)
            }
            errors.maxLength(e.type, Limits.embedType, p + ["type"])
            errors.maxLength(e.timestamp, Limits.embedTimestamp, p + ["timestamp"])
            errors.maxLength(e.provider?.name, Limits.embedProviderName, p + ["provider", "name"])
            errors.between(e.color, Limits.embedColor, p + ["color"])
            for (media, name) in [(e.image, "image"), (e.thumbnail, "thumbnail"), (e.video, "video")] {
                errors.between(media?.width, Limits.mediaDimension, p + [name, "width"])
                errors.between(media?.height, Limits.mediaDimension, p + [name, "height"])
            }
            let fields = e.fields ?? []
            if fields.count > Limits.embedFields {
                errors.add(p + ["fields"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be \(Limits.embedFields) or fewer in length.")
            }
            for (j, f) in fields.enumerated() {
                errors.maxLength(f.name, Limits.embedFieldName, p + ["fields", String(j), "name"])
                errors.maxLength(f.value, Limits.embedFieldValue, p + ["fields", String(j), "value"])
                total += length(f.name) + length(f.value)
            }
            total += [e.title, e.description, e.footer?.text, e.author?.name].reduce(0) { $0 + length($1 ?? "") }
        }
        if total > Limits.embedTotal {
            errors.add(["embeds"], code: "MESSAGE_EMBED_TOO_LONG", message: "Embed size exceeds maximum size of \(Limits.embedTotal)")
        }
    }

    static func validateComponents(_ components: [JSONValue]?, into errors: inout FormErrors) {
        guard let rows = components else { return }
        if rows.count > Limits.actionRows {
            errors.add(["components"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be \(Limits.actionRows) or fewer in length.")
            return
        }
        for (i, row) in rows.enumerated() {
            guard row["type"]?.intValue == 1 else {
                errors.add(["components", String(i), "type"], code: "UNION_TYPE_CHOICES", message: "Value of field \"type\" must be one of (1,).")
                continue
            }
            let children = row["components"]?.arrayValue ?? []
            if children.isEmpty || children.count > Limits.componentsPerRow {
                errors.add(["components", String(i), "components"], code: "BASE_TYPE_BAD_LENGTH", message: "Must be between 1 and \(Limits.componentsPerRow) in length.")
            }
            for (j, child) in children.enumerated() { boundComponent(child, at: ["components", String(i), "components", String(j)], into: &errors) }
        }
    }

    /// Discord's per-field limits on a component (label, custom_id, placeholder), and for what
    /// Concord does not interpret, a bound on every string and list in it, so no message grows
    /// past what a real component can hold.
    static func boundComponent(_ value: JSONValue, at path: [String], into errors: inout FormErrors) {
        switch value {
        case .object(let fields):
            for (key, field) in fields {
                if case .string(let text) = field {
                    let max = switch key {
                    case "label": Limits.componentLabel
                    case "custom_id": Limits.componentCustomID
                    case "placeholder": Limits.componentPlaceholder
                    default: Limits.componentString
                    }
                    errors.maxLength(text, max, path + [key])
                } else {
                    boundComponent(field, at: path + [key], into: &errors)
                }
            }
        case .array(let items):
            if items.count > Limits.componentList {
                errors.add(path, code: "BASE_TYPE_MAX_LENGTH", message: "Must be \(Limits.componentList) or fewer in length.")
                return
            }
            for (k, item) in items.enumerated() { boundComponent(item, at: path + [String(k)], into: &errors) }
        case .string(let text):
            errors.maxLength(text, Limits.componentString, path)
        default:
            break
        }
    }

    static func validateAllowedMentions(_ a: AllowedMentions?, into errors: inout FormErrors) {
        guard let a else { return }
        for (i, p) in (a.parse ?? []).enumerated() where !["users", "roles", "everyone"].contains(p) {
            errors.add(["allowed_mentions", "parse", String(i)], code: "BASE_TYPE_CHOICES", message: "Value must be one of {'users', 'roles', 'everyone'}.")
        }
        if (a.users ?? []).count > Limits.allowedMentionUsers {
            errors.add(["allowed_mentions", "users"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be \(Limits.allowedMentionUsers) or fewer in length.")
        }
        if (a.roles ?? []).count > Limits.allowedMentionUsers {
            errors.add(["allowed_mentions", "roles"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be \(Limits.allowedMentionUsers) or fewer in length.")
        }
        if (a.parse ?? []).contains("users") && !(a.users ?? []).isEmpty {
            errors.add(["allowed_mentions"], code: "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE", message: "parse:[\"users\"] and users: [ids...] are mutually exclusive.")
        }
    }

    public static func validate(_ r: GuildCreateRequest) throws {
        var errors = FormErrors()
        errors.lengthBetween(r.name, Limits.guildName, ["name"])
        errors.maxLength(r.description, 120, ["description"])
        try errors.throwIfAny()
    }

    public static func validate(_ r: GuildModifyRequest) throws {
        var errors = FormErrors()
        switch r.name {
        case .value(let name): errors.lengthBetween(name, Limits.guildName, ["name"])
        case .null: errors.add(["name"], code: "BASE_TYPE_REQUIRED", message: "This field is required")
        case .absent: break
        }
        if case .value(let d) = r.description { errors.maxLength(d, 120, ["description"]) }
        try errors.throwIfAny()
    }

    public static func validate(_ r: ChannelCreateRequest) throws {
        var errors = FormErrors()
        errors.lengthBetween(r.name, Limits.channelName, ["name"])
        errors.maxLength(r.topic, Limits.channelTopic, ["topic"])
        if let type = r.type, ChannelType(rawValue: type) == nil {
            errors.add(["type"], code: "BASE_TYPE_CHOICES", message: "Value must be one of {0, 4}.")
        }
        if r.type == ChannelType.guildCategory.rawValue && r.parent_id != nil {
            errors.add(["parent_id"], code: "CHANNEL_PARENT_INVALID_TYPE", message: "Categories cannot have subcategories")
        }
        errors.between(r.position, 0...Int(Int32.max), ["position"])
        if let overwrites = r.permission_overwrites { check(overwrites, into: &errors) }
        try errors.throwIfAny()
    }

    public static func validate(_ r: ChannelModifyRequest) throws {
        var errors = FormErrors()
        switch r.name {
        case .value(let name): errors.lengthBetween(name, Limits.channelName, ["name"])
        case .null: errors.add(["name"], code: "BASE_TYPE_REQUIRED", message: "This field is required")
        case .absent: break
        }
        if case .value(let t) = r.topic { errors.maxLength(t, Limits.channelTopic, ["topic"]) }
        if case .value(let p) = r.position { errors.between(p, 0...Int(Int32.max), ["position"]) }
        if case .value(let overwrites) = r.permission_overwrites { check(overwrites, into: &errors) }
        try errors.throwIfAny()
    }

    public static func validate(_ r: InviteCreateRequest) throws {
        var errors = FormErrors()
        errors.between(r.max_age, Limits.inviteMaxAge, ["max_age"])
        errors.between(r.max_uses, Limits.inviteMaxUses, ["max_uses"])
        try errors.throwIfAny()
    }

    /// Discord accepts at most 100 read states per bulk ack.
    public static func validate(_ r: BulkAckRequest) throws {
        var errors = FormErrors()
        if r.read_states.isEmpty || r.read_states.count > 100 {
            errors.add(["read_states"], code: "BASE_TYPE_BAD_LENGTH", message: "Must be between 1 and 100 in length.")
        }
        try errors.throwIfAny()
    }

    public static func validate(_ r: RegisterRequest) throws {
        var errors = FormErrors()
        errors.lengthBetween(r.username, Limits.username, ["username"])
        if !r.username.unicodeScalars.allSatisfy({ "abcdefghijklmnopqrstuvwxyz0123456789_.".unicodeScalars.contains($0) }) {
            errors.add(["username"], code: "USERNAME_INVALID_CHARACTERS", message: "Username can only contain lowercase letters, numbers, underscores and periods.")
        }
        if !Limits.password.contains(length(r.password)) {
            errors.add(["password"], code: "PASSWORD_BAD_LENGTH", message: "Must be between \(Limits.password.lowerBound) and \(Limits.password.upperBound) in length.")
        }
        if let g = r.global_name { errors.lengthBetween(g, Limits.globalName, ["global_name"]) }
        try errors.throwIfAny()
    }

    /// Channel names in Discord's style: text channel names are lower-case with dashes.
    public static func normalizedChannelName(_ name: String, type: ChannelType) -> String {
        guard type == .guildText else { return name }
        return name.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: "-")
    }
}
