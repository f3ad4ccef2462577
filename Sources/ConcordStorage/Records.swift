import ConcordModels
import Foundation
import PostgresNIO

/// A workspace row.
public struct WorkspaceRecord: Sendable, Equatable {
    public var id: Snowflake
    public var name: String
    public var description: String?
    public var ownerID: Snowflake
    public var systemChannelID: Snowflake?
    public var createdAt: Date
    public init(id: Snowflake, name: String, description: String?, ownerID: Snowflake, systemChannelID: Snowflake?, createdAt: Date) {
        self.id = id; self.name = name; self.description = description
        self.ownerID = ownerID; self.systemChannelID = systemChannelID; self.createdAt = createdAt
    }
}

/// A member row with its user.
public struct MemberRecord: Sendable, Equatable {
    public var user: User
    public var nick: String?
    public var joinedAt: Date
    /// The roles held besides @everyone, and a timeout (filled by the member queries, not by
    /// every join).
    public var roleIDs: [Snowflake] = []
    public var timedOutUntil: Date?
    public init(user: User, nick: String?, joinedAt: Date, roleIDs: [Snowflake] = [], timedOutUntil: Date? = nil) {
        self.user = user
        self.nick = nick
        self.joinedAt = joinedAt
        self.roleIDs = roleIDs
        self.timedOutUntil = timedOutUntil
    }
}

/// A message row with its author (and the author's membership, for guild messages).
public struct MessageRecord: Sendable, Equatable {
    public var id: Snowflake
    public var channelID: Snowflake
    public var workspaceID: Snowflake?
    public var author: User
    public var authorMember: MemberRecord?
    public var type: Int
    public var content: String
    public var tts: Bool
    public var mentionEveryone: Bool
    public var mentionIDs: [Snowflake]
    public var embedsJSON: String
    public var componentsJSON: String
    public var nonceJSON: String?
    public var flags: Int
    public var pinned: Bool
    public var referenceMessageID: Snowflake?
    public var referenceChannelID: Snowflake?
    public var referenceGuildID: Snowflake?
    public var editedAt: Date?
    /// Discord's attachment objects with their URLs unsigned, as a JSON array.
    public var attachmentsJSON: String

    public init(id: Snowflake, channelID: Snowflake, workspaceID: Snowflake?, author: User, authorMember: MemberRecord?,
                type: Int, content: String, tts: Bool, mentionEveryone: Bool, mentionIDs: [Snowflake],
                embedsJSON: String, componentsJSON: String, nonceJSON: String?, flags: Int, pinned: Bool,
                referenceMessageID: Snowflake?, referenceChannelID: Snowflake?, referenceGuildID: Snowflake?, editedAt: Date?,
                attachmentsJSON: String = "[]") {
        self.id = id; self.channelID = channelID; self.workspaceID = workspaceID
        self.author = author; self.authorMember = authorMember; self.type = type
        self.content = content; self.tts = tts; self.mentionEveryone = mentionEveryone
        self.mentionIDs = mentionIDs; self.embedsJSON = embedsJSON; self.componentsJSON = componentsJSON
        self.nonceJSON = nonceJSON; self.flags = flags; self.pinned = pinned
        self.referenceMessageID = referenceMessageID; self.referenceChannelID = referenceChannelID
        self.referenceGuildID = referenceGuildID; self.editedAt = editedAt
        self.attachmentsJSON = attachmentsJSON
    }
}

/// One 10-day bucket of one channel's messages (the unit the tier mover archives).
public struct ChannelBucket: Hashable, Sendable {
    public var channel: Snowflake
    public var bucket: Int

    public init(channel: Snowflake, bucket: Int) {
        self.channel = channel
        self.bucket = bucket
    }
}

/// An invite row.
public struct InviteRecord: Sendable, Equatable {
    public var code: String
    public var workspaceID: Snowflake
    public var channelID: Snowflake
    public var inviterID: Snowflake
    public var maxAge: Int
    public var maxUses: Int
    public var uses: Int
    public var temporary: Bool
    public var createdAt: Date
    public var expiresAt: Date?
    public init(code: String, workspaceID: Snowflake, channelID: Snowflake, inviterID: Snowflake, maxAge: Int, maxUses: Int,
                uses: Int, temporary: Bool, createdAt: Date, expiresAt: Date?) {
        self.code = code; self.workspaceID = workspaceID; self.channelID = channelID; self.inviterID = inviterID
        self.maxAge = maxAge; self.maxUses = maxUses; self.uses = uses; self.temporary = temporary
        self.createdAt = createdAt; self.expiresAt = expiresAt
    }
}

/// Column lists and row readers shared by the stores.
enum Columns {
    /// A message's columns; the message table or subquery is aliased `msg`.
    static let message = """
        SELECT msg.id, msg.channel_id, msg.workspace_id, msg.type, msg.content, msg.tts, msg.mention_everyone, msg.mention_ids,
               msg.embeds::text AS embeds, msg.components::text AS components, msg.nonce, msg.flags, msg.pinned,
               msg.reference_message_id, msg.reference_channel_id, msg.reference_guild_id, msg.edited_at,
               COALESCE(msg.attachments, '[]')::text AS attachments, \(Columns.user("u", as: "u_")), m.nick AS m_nick, m.joined_at AS m_joined_at
        """
    /// Joins a message's author and the author's membership.
    static let messageAuthor = """
        JOIN users u ON u.id = msg.author_id
        LEFT JOIN members m ON m.workspace_id = msg.workspace_id AND m.user_id = msg.author_id
        """
    /// A channel's columns (`c_id, c_type, …`) for the channels table aliased `c`.
    static let channel = "c.id AS c_id, c.type AS c_type, c.workspace_id AS c_workspace_id, c.name AS c_name, c.topic AS c_topic, c.position AS c_position, c.parent_id AS c_parent_id, c.nsfw AS c_nsfw, c.last_message_id AS c_last_message_id, c.permission_overwrites::text AS c_overwrites"
    /// `u_id, u_username, …` for the users table aliased `u` (or another alias and prefix).
    static func user(_ alias: String, as prefix: String) -> String {
        "\(alias).id AS \(prefix)id, \(alias).username AS \(prefix)username, \(alias).global_name AS \(prefix)global_name, \(alias).avatar AS \(prefix)avatar, \(alias).bot AS \(prefix)bot"
    }
}

extension PostgresRandomAccessRow {
    func snowflake(_ column: String) throws -> Snowflake { Snowflake(int64: try self[column].decode(Int64.self)) }
    func optionalSnowflake(_ column: String) throws -> Snowflake? {
        try self[column].decode(Int64?.self).map(Snowflake.init(int64:))
    }

    func user(prefix: String) throws -> User {
        var user = User(id: try snowflake(prefix + "id"), username: try self[prefix + "username"].decode(String.self),
                        globalName: try self[prefix + "global_name"].decode(String?.self), bot: try self[prefix + "bot"].decode(Bool.self))
        user.avatar = try self[prefix + "avatar"].decode(String?.self)
        return user
    }

    /// A membership read through a LEFT JOIN: nil when the `joined_at` column is NULL.
    func member(prefix: String, user: User) throws -> MemberRecord? {
        guard let joined = try self[prefix + "joined_at"].decode(Date?.self) else { return nil }
        return MemberRecord(user: user, nick: try self[prefix + "nick"].decode(String?.self), joinedAt: joined)
    }
}
