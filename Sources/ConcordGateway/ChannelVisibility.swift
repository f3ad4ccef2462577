import ConcordModels
import ConcordPermissions
import Foundation

/// What one event means to channel visibility, read from its payload once per edge (not once
/// per session): the change it makes to a workspace's roles, channels or members, and whether
/// its content belongs to a channel (and so reaches only those who can view it). A class: every
/// session's delivery of the event shares it (a retain each, not a copy of its change).
public final class VisibilityEvent: Sendable {
    public enum Change: Sendable {
        case none
        case joined(GuildCreatePayload)
        case left
        case owner(Snowflake)
        case role(RoleGrant)
        case roleDeleted(Snowflake)
        case channel(Snowflake, [PermissionOverwrite])
        case channelDeleted(Snowflake)
        case memberRoles(user: Snowflake, roles: [Snowflake])
    }

    public let guild: Snowflake?
    /// The channel whose content the event carries; nil when anyone in the workspace may have it
    /// (channel metadata is not secret, as in Discord: CHANNEL_CREATE/UPDATE/DELETE reach all).
    public let guardedChannel: Snowflake?
    /// What the user must hold in the workspace to receive it (the audit log's entries need
    /// VIEW_AUDIT_LOG, as on Discord).
    public let requires: Permissions
    public let change: Change

    public convenience init(_ event: PendingEvent) {
        self.init(type: event.type, guild: event.guildID, channel: event.channelID, payload: event.payload)
    }

    public init(type: String, guild: Snowflake?, channel: Snowflake?, payload: String) {
        self.guild = guild
        let metadata = ["CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE"].contains(type)
        guardedChannel = guild == nil || metadata ? nil : channel
        requires = type == "GUILD_AUDIT_LOG_ENTRY_CREATE" ? .viewAuditLog : []
        change = guild == nil ? .none : Self.change(type: type, payload: Data(payload.utf8))
    }

    private static func change(type: String, payload: Data) -> Change {
        func decode<T: Decodable>(_ t: T.Type) -> T? { try? WireJSON.decode(t, from: payload) }
        switch type {
        case "GUILD_CREATE": return decode(GuildCreatePayload.self).map(Change.joined) ?? .none
        case "GUILD_DELETE": return .left
        case "GUILD_UPDATE": return decode(Guild.self).map { .owner($0.owner_id) } ?? .none
        case "GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE": return decode(GuildRolePayload.self).map { .role(RoleGrant($0.role)) } ?? .none
        case "GUILD_ROLE_DELETE": return decode(GuildRoleDeletePayload.self).map { .roleDeleted($0.role_id) } ?? .none
        case "CHANNEL_CREATE", "CHANNEL_UPDATE":
            return decode(GuildChannel.self).map { .channel($0.id, $0.permission_overwrites.map(PermissionOverwrite.init)) } ?? .none
        case "CHANNEL_DELETE": return decode(GuildChannel.self).map { .channelDeleted($0.id) } ?? .none
        case "GUILD_MEMBER_UPDATE":
            return decode(Member.self).flatMap { member in member.user.map { .memberRoles(user: $0.id, roles: member.roles) } } ?? .none
        default: return .none
        }
    }
}

extension RoleGrant {
    public init(_ role: Role) { self.init(id: role.id, permissions: role.permissionSet, position: role.position) }
}

/// One session's view of which channels its user can see, per workspace: an I/O-free state
/// machine fed every event of the session's stream in the order the session receives them
/// (READY's workspaces first). Role, channel and member events change it; each channel's
/// content event is admitted only if the user can VIEW_CHANNEL it at that point of the stream.
/// Since a cell writes a permission change and the sends around it into one outbox in commit
/// order, nothing is delivered after access is lost and nothing is missed after it is gained.
///
/// Timeouts are left out: a timed-out member keeps VIEW_CHANNEL (PermissionCalculator).
public struct ChannelVisibility: Sendable, Equatable {
    struct Workspace: Sendable, Equatable {
        var roles: WorkspaceRoles
        var member: MemberGrant
        var overwrites: [Snowflake: [PermissionOverwrite]]
        /// The known channels the member can view.
        var visible: Set<Snowflake> = []
        /// The member's permissions in the workspace.
        var base: Permissions = []

        mutating func recompute() {
            let held = PermissionCalculator.base(member, in: roles, now: .distantPast)
            base = held
            visible = Set(overwrites.compactMap { id, overwrites in
                PermissionCalculator.channel(member, base: held, everyoneID: roles.workspaceID, overwrites: overwrites, now: .distantPast)
                    .contains(.viewChannel) ? id : nil
            })
        }

        func canView(_ channel: Snowflake) -> Bool {
            overwrites[channel] == nil ? base.contains(.viewChannel) : visible.contains(channel)
        }
    }

    public let userID: Snowflake
    private(set) var workspaces: [Snowflake: Workspace] = [:] {
        didSet { lastAnswer = nil }
    }
    /// The last channel judged and the answer: a busy channel's events ask the same question of
    /// every session, and its answer stands until the workspaces change.
    private var lastAnswer: (guild: Snowflake, channel: Snowflake, visible: Bool)?

    public init(userID: Snowflake) { self.userID = userID }

    public static func == (a: ChannelVisibility, b: ChannelVisibility) -> Bool {
        a.userID == b.userID && a.workspaces == b.workspaces
    }

    /// A workspace as READY or GUILD_CREATE shows it; `sharing`: the edge's copies of
    /// workspaces, whose storage this session's view uses where equal.
    public mutating func load(_ guild: GuildCreatePayload, sharing: SharedWorkspaceViews? = nil) {
        let own = guild.members.first { $0.user?.id == userID }
        var workspace = Workspace(roles: WorkspaceRoles(workspaceID: guild.guild.id, ownerID: guild.guild.owner_id, roles: guild.guild.roles.map(RoleGrant.init)),
                                  member: MemberGrant(userID: userID, roleIDs: own?.roles ?? []),
                                  overwrites: Dictionary(guild.channels.map { ($0.id, $0.permission_overwrites.map(PermissionOverwrite.init)) },
                                                         uniquingKeysWith: { first, _ in first }))
        workspace.recompute()
        workspaces[guild.guild.id] = sharing?.share(workspace, of: guild.guild.id) ?? workspace
    }

    /// Takes in the session's next event; answers whether the session may receive it.
    public mutating func admit(_ event: VisibilityEvent) -> Bool {
        guard let guild = event.guild else { return true }
        apply(event.change, guild: guild)
        if !event.requires.isEmpty, !(workspaces[guild]?.base.isSuperset(of: event.requires) ?? false) { return false }
        guard let channel = event.guardedChannel else { return true }
        if let last = lastAnswer, last.channel == channel, last.guild == guild { return last.visible }
        // A workspace the session was never shown, or has left: none of its channels' content.
        let visible = workspaces[guild]?.canView(channel) ?? false
        lastAnswer = (guild, channel, visible)
        return visible
    }

    /// Whether the user can view a channel, as far as this session knows.
    public func canView(_ channel: Snowflake, in guild: Snowflake) -> Bool {
        workspaces[guild]?.canView(channel) ?? false
    }

    /// The user's permissions in a workspace (timeouts aside), as far as this session knows.
    public func permissions(in guild: Snowflake) -> Permissions? {
        workspaces[guild]?.base
    }

    private mutating func apply(_ change: VisibilityEvent.Change, guild: Snowflake) {
        switch change {
        case .none: return
        case .joined(let payload): load(payload); return
        case .left: workspaces[guild] = nil; return
        default: break
        }
        guard var workspace = workspaces[guild] else { return }
        switch change {
        case .owner(let owner): workspace.roles.ownerID = owner
        case .role(let role): workspace.roles.roles[role.id] = role
        case .roleDeleted(let id):
            workspace.roles.roles[id] = nil
            workspace.member.roleIDs.removeAll { $0 == id }
        case .channel(let id, let overwrites): workspace.overwrites[id] = overwrites
        case .channelDeleted(let id): workspace.overwrites[id] = nil
        case .memberRoles(let user, let roles):
            guard user == userID else { return }
            workspace.member.roleIDs = roles
        case .none, .joined, .left: return
        }
        workspace.recompute()
        workspaces[guild] = workspace
    }
}
