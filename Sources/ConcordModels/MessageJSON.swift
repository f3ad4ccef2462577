/// A message's JSON written straight to bytes, the same bytes `WireJSON.encode` writes (keys
/// sorted, slashes unescaped): every send and every page of history renders messages, and
/// Foundation's encoder, sorting each object's keys as it goes, was the largest single share of
/// the cell's CPU on a send. The parts rarely present (embeds, components, attachments,
/// reactions, a reference, an unusual nonce) still go through the encoder and are spliced in.
/// `MessageJSONTests` holds this to the encoder's output.
struct JSONBytes {
    var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// A key of an object already holding `first == false` members, and its colon.
    mutating func key(_ name: StaticString, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func int<I: BinaryInteger>(_ value: I) {
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }

    mutating func snowflake(_ id: Snowflake) {
        bytes.append(UInt8(ascii: "\""))
        int(id.rawValue)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func optionalString(_ value: String?) {
        if let value { string(value) } else { raw("null") }
    }

    mutating func optionalSnowflake(_ id: Snowflake?) {
        if let id { snowflake(id) } else { raw("null") }
    }

    /// As Foundation escapes: quote, backslash and the C0 controls; nothing else.
    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x08: raw("\\b")
            case 0x0C: raw("\\f")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0x00..<0x20:
                raw("\\u00")
                let hex: StaticString = "0123456789abcdef"
                bytes.append(hex.utf8Start[Int(byte >> 4)])
                bytes.append(hex.utf8Start[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func encoded(_ value: some Encodable) throws {
        bytes.append(contentsOf: try WireJSON.encode(value))
    }

    mutating func array<T>(_ values: [T], _ element: (inout JSONBytes, T) throws -> Void) rethrows {
        bytes.append(UInt8(ascii: "["))
        for (i, value) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            try element(&self, value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// An array the encoder writes, unless it is empty.
    mutating func encodedArray(_ values: [some Encodable]) throws {
        if values.isEmpty { raw("[]") } else { try encoded(values) }
    }
}

extension Message {
    /// This message as `WireJSON.encode(self)` writes it.
    public func wireJSON() throws -> [UInt8] {
        var out = JSONBytes(capacity: 1024 + content.utf8.count)
        try write(into: &out)
        return out.bytes
    }

    func write(into out: inout JSONBytes) throws {
        out.raw("{")
        out.key("attachments", first: true); try out.encodedArray(attachments)
        out.key("author"); author.write(into: &out)
        out.key("channel_id"); out.snowflake(channel_id)
        out.key("components"); try out.encodedArray(components)
        out.key("content"); out.string(content)
        out.key("edited_timestamp"); out.optionalString(edited_timestamp)
        out.key("embeds"); try out.encodedArray(embeds)
        out.key("flags"); out.int(flags)
        out.key("guild_id"); out.optionalSnowflake(guild_id)
        out.key("id"); out.snowflake(id)
        if let member { out.key("member"); member.write(into: &out) }
        out.key("mention_everyone"); out.bool(mention_everyone)
        out.key("mention_roles"); out.array(mention_roles) { $0.snowflake($1) }
        out.key("mentions"); out.array(mentions) { $1.write(into: &$0) }
        if let message_reference { out.key("message_reference"); try out.encoded(message_reference) }
        switch nonce {
        case nil: break
        case .string(let text)?: out.key("nonce"); out.string(text)
        case .int(let number)?: out.key("nonce"); out.int(number)
        case let other?: out.key("nonce"); try out.encoded(other)
        }
        out.key("pinned"); out.bool(pinned)
        if let reactions { out.key("reactions"); try out.encoded(reactions) }
        if let referenced_message { out.key("referenced_message"); try referenced_message.value.write(into: &out) }
        out.key("timestamp"); out.string(timestamp)
        out.key("tts"); out.bool(tts)
        out.key("type"); out.int(type)
        out.raw("}")
    }
}

extension User {
    /// - Parameter ownerOnly: with the fields only the user themselves is shown (`CurrentUser`),
    ///   each at its sorted place.
    func write(into out: inout JSONBytes, member: Member? = nil, ownerOnly: Bool = false) {
        out.raw("{")
        out.key("accent_color", first: true); out.raw("null")
        out.key("avatar"); out.optionalString(avatar)
        out.key("banner"); out.raw("null")
        out.key("bot"); out.bool(bot)
        out.key("discriminator"); out.string(discriminator)
        if ownerOnly { out.key("email"); out.raw("null") }
        out.key("flags"); out.int(flags)
        out.key("global_name"); out.optionalString(global_name)
        out.key("id"); out.snowflake(id)
        if ownerOnly { out.key("locale"); out.string("en-US") }
        if let member { out.key("member"); member.write(into: &out) }
        if ownerOnly { out.key("mfa_enabled"); out.bool(false); out.key("premium_type"); out.int(0) }
        out.key("primary_guild"); out.raw("null")
        out.key("public_flags"); out.int(public_flags)
        out.key("system"); out.bool(system)
        out.key("username"); out.string(username)
        if ownerOnly { out.key("verified"); out.bool(true) }
        out.raw("}")
    }
}

extension MentionedUser {
    func write(into out: inout JSONBytes) { user.write(into: &out, member: member) }
}

extension Member {
    func write(into out: inout JSONBytes) {
        out.raw("{")
        // Nil scalars are written as null (`NullEncoding`), a nil user left out.
        var first = true
        func key(_ name: StaticString) { out.key(name, first: first); first = false }
        key("avatar"); out.optionalString(avatar)
        key("banner"); out.optionalString(banner)
        key("communication_disabled_until"); out.optionalString(communication_disabled_until)
        key("deaf"); out.bool(deaf)
        key("flags"); out.int(flags)
        key("joined_at"); out.string(joined_at)
        key("mute"); out.bool(mute)
        key("nick"); out.optionalString(nick)
        key("pending"); out.bool(pending)
        key("premium_since"); out.optionalString(premium_since)
        key("roles"); out.array(roles) { $0.snowflake($1) }
        if let user { key("user"); user.write(into: &out) }
        out.raw("}")
    }
}
