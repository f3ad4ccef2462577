import Foundation

/// A READY batch read by hand (`JSONReader`) where Foundation's decoder read it: an edge reads
/// one for every twenty or so sessions identifying, each state with its user, its own member
/// objects and read states. What the reader does not take (anything it would read differently)
/// goes to the decoder whole; `readyBatchesReadAsTheDecoderReadsThem` holds the two equal.
extension ReadyBatch {
    public static func read(_ data: Data) throws -> ReadyBatch {
        var reader = JSONReader(Array(data))
        if let batch = try? ReadyBatch(reading: &reader), reader.atEnd() { return batch }
        return try WireJSON.decode(ReadyBatch.self, from: data)
    }

    init(reading reader: inout JSONReader) throws {
        var states: [State?]?, workspaces: [GuildCreatePayload]?
        try reader.object { reader, key in
            switch key {
            case "states": states = try reader.array { $0.null() ? nil : try State(reading: &$0) }
            case "workspaces": workspaces = try reader.decoded([GuildCreatePayload].self)
            default: _ = try reader.skipValue()
            }
        }
        guard let states, let workspaces else { throw JSONReader.Unexpected() }
        self.states = states
        self.workspaces = workspaces
    }
}

extension ReadyBatch.State {
    init(reading reader: inout JSONReader) throws {
        var guilds: [ReadyBatch.GuildPart]?, outboxSeq: Int?, privateChannels: [DMChannel]?, readStates: [ReadStateEntry]?, user: User?
        try reader.object { reader, key in
            switch key {
            case "guilds": guilds = try reader.array { try ReadyBatch.GuildPart(reading: &$0) }
            case "outboxSeq": outboxSeq = try reader.int()
            case "privateChannels": privateChannels = try reader.decoded([DMChannel].self)
            case "readStates": readStates = try reader.array { try ReadStateEntry(reading: &$0) }
            case "user": user = try User(reading: &reader)
            default: _ = try reader.skipValue()
            }
        }
        guard let guilds, let outboxSeq, let privateChannels, let readStates, let user else { throw JSONReader.Unexpected() }
        self.init(user: user, guilds: guilds, outboxSeq: Int64(outboxSeq), readStates: readStates, privateChannels: privateChannels)
    }
}

extension ReadyBatch.GuildPart {
    init(reading reader: inout JSONReader) throws {
        var workspace: Int?, joinedAt: String?, members: [Member]?, presences: [JSONValue]?
        try reader.object { reader, key in
            switch key {
            case "workspace": workspace = try reader.int()
            case "joined_at": joinedAt = try reader.optionalString()
            case "members": members = reader.null() ? nil : try reader.array { try Member(reading: &$0) }
            case "presences": presences = reader.null() ? nil : try reader.decoded([JSONValue].self)
            default: _ = try reader.skipValue()
            }
        }
        guard let workspace else { throw JSONReader.Unexpected() }
        self.init(workspace: workspace, joined_at: joinedAt, members: members, presences: presences)
    }
}

extension ReadStateEntry {
    init(reading reader: inout JSONReader) throws {
        var id: Snowflake?, lastMessage: Snowflake?, mentions: Int?, unread: Int?, lastPin: String?
        try reader.object { reader, key in
            switch key {
            case "id": id = try reader.snowflake()
            case "last_message_id": lastMessage = try reader.snowflake()
            case "mention_count": mentions = try reader.int()
            case "unread_count": unread = try reader.int()
            case "last_pin_timestamp": lastPin = try reader.optionalString()
            default: _ = try reader.skipValue()
            }
        }
        guard let id, let lastMessage, let mentions, let unread else { throw JSONReader.Unexpected() }
        self.init(channelID: id, lastMessageID: lastMessage, mentionCount: mentions, unreadCount: unread)
        last_pin_timestamp = lastPin
    }
}

extension User {
    /// The fields `User` decodes; the rest (null `banner`, `primary_guild`, …) are skipped, as the
    /// decoder skips them.
    init(reading reader: inout JSONReader) throws {
        var id: Snowflake?, username: String?, discriminator: String?, globalName: String?, avatar: String?
        var bot: Bool?, system: Bool?, publicFlags: Int?, flags: Int?
        try reader.object { reader, key in
            switch key {
            case "id": id = try reader.snowflake()
            case "username": username = try reader.string()
            case "discriminator": discriminator = try reader.string()
            case "global_name": globalName = try reader.optionalString()
            case "avatar": avatar = try reader.optionalString()
            case "bot": bot = try reader.bool()
            case "system": system = try reader.bool()
            case "public_flags": publicFlags = try reader.int()
            case "flags": flags = try reader.int()
            default: _ = try reader.skipValue()
            }
        }
        guard let id, let username, let discriminator, let bot, let system, let publicFlags, let flags else { throw JSONReader.Unexpected() }
        self.init(id: id, username: username, globalName: globalName, bot: bot)
        self.discriminator = discriminator
        self.avatar = avatar
        self.system = system
        public_flags = publicFlags
        self.flags = flags
    }
}

extension Member {
    init(reading reader: inout JSONReader) throws {
        var user: User?, nick: String?, avatar: String?, roles: [Snowflake]?, joinedAt: String?, premiumSince: String?
        var deaf: Bool?, mute: Bool?, flags: Int?, pending: Bool?, timedOutUntil: String?, banner: String?
        try reader.object { reader, key in
            switch key {
            case "user": user = reader.null() ? nil : try User(reading: &reader)
            case "nick": nick = try reader.optionalString()
            case "avatar": avatar = try reader.optionalString()
            case "roles": roles = try reader.array { try $0.snowflake() }
            case "joined_at": joinedAt = try reader.string()
            case "premium_since": premiumSince = try reader.optionalString()
            case "deaf": deaf = try reader.bool()
            case "mute": mute = try reader.bool()
            case "flags": flags = try reader.int()
            case "pending": pending = try reader.bool()
            case "communication_disabled_until": timedOutUntil = try reader.optionalString()
            case "banner": banner = try reader.optionalString()
            default: _ = try reader.skipValue()
            }
        }
        guard let roles, let joinedAt, let deaf, let mute, let flags, let pending else { throw JSONReader.Unexpected() }
        self.init(user: user, nick: nick, joinedAt: joinedAt)
        self.avatar = avatar
        self.roles = roles
        premium_since = premiumSince
        self.deaf = deaf
        self.mute = mute
        self.flags = flags
        self.pending = pending
        communication_disabled_until = timedOutUntil
        self.banner = banner
    }
}
