import ConcordModels
import ConcordPermissions
import Foundation
import PostgresNIO

/// A channel with what a caller may do there: its workspace's owner and the caller's membership.
public struct ChannelAccess: Sendable {
    public var channel: GuildChannel
    public var ownerID: Snowflake
    public var user: User?
    public var member: MemberRecord?
    /// A DM's two users (nil for a workspace's channel). For a DM, `channel.guild_id` is 0 and
    /// `member` is the caller when they are one of the two.
    public var dmUsers: [Snowflake]? = nil
    /// For a replica of a channel homed in another cell (shared, or a DM): that cell.
    public var homeCell: Int? = nil
    /// The channel's workspace's roles and the caller's (empty for a DM).
    public var roles = RoleSnapshot(roles: [], memberRoleIDs: [])
    /// The versions of the workspace and the caller this was read at (nil for a DM, or a caller
    /// with no account here).
    public var versions: AccessVersions? = nil
    /// The caller's permissions in the channel: Discord's algorithm over the workspace's roles,
    /// the caller's and the channel's overwrites, with its implicit rules.
    public var permissions: Permissions {
        guard let member else { return [] }
        if dmUsers != nil { return .directMessage }
        let (grant, workspace) = roles.grants(of: member.user.id, workspace: channel.guild_id, owner: ownerID)
        return PermissionCalculator.channel(grant, in: workspace, overwrites: channel.permission_overwrites.map(PermissionOverwrite.init))
    }
    public init(channel: GuildChannel, ownerID: Snowflake, user: User?, member: MemberRecord?, dmUsers: [Snowflake]? = nil, homeCell: Int? = nil,
                roles: RoleSnapshot = RoleSnapshot(roles: [], memberRoleIDs: [])) {
        self.channel = channel
        self.ownerID = ownerID
        self.user = user
        self.member = member
        self.dmUsers = dmUsers
        self.homeCell = homeCell
        self.roles = roles
    }

    /// The workspace the channel belongs to; nil for a DM.
    public var guildID: Snowflake? { dmUsers == nil ? channel.guild_id : nil }
}

/// The versions of what a channel's access is computed from (migration 025): the workspace's
/// (roles, members, channel settings, owner) and the caller's own row.
public struct AccessVersions: Sendable, Equatable {
    public var workspace: Int64
    public var user: Int64

    public init(workspace: Int64, user: Int64) {
        self.workspace = workspace
        self.user = user
    }

    /// The SQLSTATE of a write refused because the access it was checked with is no longer current.
    public static let changed = "CC409"
}

extension SQLExecutor {
    static func channel(_ row: PostgresRandomAccessRow) throws -> GuildChannel {
        // A DM has no workspace: 0 stands in (see ChannelAccess.dmUsers).
        var channel = GuildChannel(id: try row.snowflake("c_id"), type: ChannelType(rawValue: try row["c_type"].decode(Int.self)) ?? .guildText,
                guildID: try row.optionalSnowflake("c_workspace_id") ?? Snowflake(0), name: try row["c_name"].decode(String.self),
                topic: try row["c_topic"].decode(String?.self), position: try row["c_position"].decode(Int.self),
                parentID: try row.optionalSnowflake("c_parent_id"), nsfw: try row["c_nsfw"].decode(Bool.self),
                lastMessageID: try row.optionalSnowflake("c_last_message_id"))
        channel.permission_overwrites = try WireJSON.decode([ChannelOverwrite].self, from: Data(try row["c_overwrites"].decode(String.self).utf8))
        return channel
    }

    public func insertChannel(_ c: GuildChannel) async throws {
        try await run("""
            INSERT INTO channels (id, workspace_id, type, name, topic, position, parent_id, nsfw, permission_overwrites)
            VALUES (\(c.id.int64), \(c.guild_id.int64), \(c.type), \(c.name), \(c.topic), \(c.position), \(c.parent_id?.int64), \(c.nsfw),
                    \(try WireJSON.encodeString(c.permission_overwrites))::jsonb)
            """)
    }

    public func channel(id: Snowflake) async throws -> GuildChannel? {
        try await run(prepared: "SELECT \(unescaped: Columns.channel) FROM channels c WHERE c.id = \(id.int64)")
            .first.map { try Self.channel($0.makeRandomAccess()) }
    }

    /// A workspace's channels in Discord's order (position, then id).
    public func channels(workspaceID: Snowflake) async throws -> [GuildChannel] {
        try await run(prepared: "SELECT \(unescaped: Columns.channel) FROM channels c WHERE c.workspace_id = \(workspaceID.int64) ORDER BY c.position, c.id")
            .map { try Self.channel($0.makeRandomAccess()) }
    }

    /// The channel, its workspace's owner, the user and their membership (or, for a DM, its two
    /// users), in one round trip: every request to a channel asks it, so it is prepared.
    public func channelAccess(id: Snowflake, userID: Snowflake) async throws -> ChannelAccess? {
        let rows = try await run(prepared: """
            SELECT \(unescaped: Columns.channel), w.owner_id AS w_owner_id, \(unescaped: Columns.user("u", as: "u_")),
                   w.access_version AS w_access_version, u.access_version AS u_access_version,
                   m.nick AS m_nick, m.joined_at AS m_joined_at, d.user_low AS d_low, d.user_high AS d_high, c.home_cell AS c_home_cell,
                   \(unescaped: RoleSnapshot.columns(workspace: "c.workspace_id"))
            FROM channels c
            LEFT JOIN workspaces w ON w.id = c.workspace_id
            LEFT JOIN dm_channels d ON d.channel_id = c.id
            LEFT JOIN users u ON u.id = \(userID.int64)
            LEFT JOIN members m ON m.workspace_id = c.workspace_id AND m.user_id = \(userID.int64)
            WHERE c.id = \(id.int64) AND (w.id IS NOT NULL OR d.channel_id IS NOT NULL)
            """)
        guard let row = rows.first?.makeRandomAccess() else { return nil }
        let user = try row["u_id"].decode(Int64?.self) == nil ? nil : try row.user(prefix: "u_")
        let homeCell = try row["c_home_cell"].decode(Int?.self)
        if let low = try row.optionalSnowflake("d_low"), let high = try row.optionalSnowflake("d_high") {
            let member = user.flatMap { [low, high].contains($0.id) ? MemberRecord(user: $0, nick: nil, joinedAt: Date(timeIntervalSince1970: 0)) : nil }
            return ChannelAccess(channel: try Self.channel(row), ownerID: Snowflake(0), user: user, member: member, dmUsers: [low, high], homeCell: homeCell)
        }
        var access = ChannelAccess(channel: try Self.channel(row), ownerID: try row.snowflake("w_owner_id"), user: user,
                                   member: try user.flatMap { try row.member(prefix: "m_", user: $0) }, homeCell: homeCell,
                                   roles: try RoleSnapshot.read(row))
        if let workspace = try row["w_access_version"].decode(Int64?.self), let own = try row["u_access_version"].decode(Int64?.self) {
            access.versions = AccessVersions(workspace: workspace, user: own)
        }
        return access
    }

    public func updateChannel(_ c: GuildChannel) async throws {
        try await run("""
            UPDATE channels SET name = \(c.name), topic = \(c.topic), position = \(c.position), parent_id = \(c.parent_id?.int64), nsfw = \(c.nsfw),
                                permission_overwrites = \(try WireJSON.encodeString(c.permission_overwrites))::jsonb
            WHERE id = \(c.id.int64)
            """)
    }

    /// The channel, locked for the rest of the transaction (its overwrites are rewritten whole).
    public func lockedChannel(id: Snowflake) async throws -> GuildChannel? {
        try await run("SELECT \(unescaped: Columns.channel) FROM channels c WHERE c.id = \(id.int64) FOR UPDATE")
            .first.map { try Self.channel($0.makeRandomAccess()) }
    }

    /// Removes a deleted role's overwrites from its workspace's channels; answers the channels changed.
    public func dropOverwrites(of roleID: Snowflake, workspaceID: Snowflake) async throws -> [GuildChannel] {
        try await run("""
            UPDATE channels c SET permission_overwrites = (
                SELECT COALESCE(jsonb_agg(o), '[]'::jsonb) FROM jsonb_array_elements(c.permission_overwrites) o WHERE o->>'id' <> \(roleID.description))
            WHERE c.workspace_id = \(workspaceID.int64)
              AND c.permission_overwrites @> jsonb_build_array(jsonb_build_object('id', \(roleID.description)::text))
            RETURNING \(unescaped: Columns.channel)
            """).map { try Self.channel($0.makeRandomAccess()) }
    }

    /// Deletes a channel and its messages; children of a deleted category move to the top level.
    public func deleteChannel(id: Snowflake) async throws {
        try await run("DELETE FROM messages WHERE channel_id = \(id.int64)")
        try await run("UPDATE channels SET parent_id = NULL WHERE parent_id = \(id.int64)")
        try await run("DELETE FROM channels WHERE id = \(id.int64)")
    }
}
