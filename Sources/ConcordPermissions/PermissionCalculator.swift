import ConcordModels
import Foundation

/// A role as the calculator needs it: its permissions and its place in the hierarchy.
public struct RoleGrant: Sendable, Equatable {
    public var id: Snowflake
    public var permissions: Permissions
    /// Higher is more senior; @everyone is 0.
    public var position: Int

    public init(id: Snowflake, permissions: Permissions, position: Int) {
        self.id = id; self.permissions = permissions; self.position = position
    }
}

/// A channel's permission overwrite for a role or for one member.
public struct PermissionOverwrite: Sendable, Equatable {
    public enum Kind: Int, Sendable { case role = 0, member = 1 }
    public var id: Snowflake
    public var kind: Kind
    public var allow: Permissions
    public var deny: Permissions

    public init(id: Snowflake, kind: Kind, allow: Permissions, deny: Permissions) {
        self.id = id; self.kind = kind; self.allow = allow; self.deny = deny
    }
}

extension PermissionOverwrite {
    /// An overwrite as the wire carries it (an unknown type counts as a role's, as it can match no member).
    public init(_ wire: ChannelOverwrite) {
        self.init(id: wire.id, kind: wire.type == ChannelOverwrite.member ? .member : .role, allow: wire.allowSet, deny: wire.denySet)
    }
}

/// A workspace as permissions see it: its owner and its roles (@everyone's id is the
/// workspace's own).
public struct WorkspaceRoles: Sendable, Equatable {
    public var workspaceID: Snowflake
    public var ownerID: Snowflake
    public var roles: [Snowflake: RoleGrant]

    public init(workspaceID: Snowflake, ownerID: Snowflake, roles: [RoleGrant]) {
        self.workspaceID = workspaceID
        self.ownerID = ownerID
        self.roles = Dictionary(roles.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public var everyone: RoleGrant { roles[workspaceID] ?? RoleGrant(id: workspaceID, permissions: [], position: 0) }
}

/// A member as permissions see it.
public struct MemberGrant: Sendable, Equatable {
    public var userID: Snowflake
    public var roleIDs: [Snowflake]
    /// A timeout (`communication_disabled_until`): until then the member may only look.
    public var timedOutUntil: Date?

    public init(userID: Snowflake, roleIDs: [Snowflake], timedOutUntil: Date? = nil) {
        self.userID = userID; self.roleIDs = roleIDs; self.timedOutUntil = timedOutUntil
    }
}

/// Discord's permission algorithm (the Permissions page of its documentation), with no I/O:
/// the cell asks it for every check and the edge for every fan-out decision.
public enum PermissionCalculator {
    /// What a timed-out member keeps.
    public static let timedOutKeeps: Permissions = [.viewChannel, .readMessageHistory]
    /// What SEND_MESSAGES carries with it: without it these are implicitly denied.
    public static let needsSending: Permissions = [.mentionEveryone, .sendTTSMessages, .attachFiles, .embedLinks]

    /// The member's permissions in the workspace: the owner and administrators hold all;
    /// otherwise @everyone's permissions and those of each of the member's roles.
    public static func base(_ member: MemberGrant, in workspace: WorkspaceRoles, now: Date = Date()) -> Permissions {
        if member.userID == workspace.ownerID { return .all }
        var permissions = workspace.everyone.permissions
        for id in member.roleIDs { permissions.formUnion(workspace.roles[id]?.permissions ?? []) }
        if permissions.contains(.administrator) { return .all }
        if isTimedOut(member, now: now) { permissions.formIntersection(timedOutKeeps) }
        return permissions
    }

    /// The member's permissions in a channel: the base, then @everyone's overwrite, then the
    /// overwrites of the member's roles taken together (their denials, then their grants), then
    /// the member's own; then the implicit rules.
    public static func channel(_ member: MemberGrant, in workspace: WorkspaceRoles, overwrites: [PermissionOverwrite],
                               now: Date = Date()) -> Permissions {
        channel(member, base: base(member, in: workspace, now: now), everyoneID: workspace.workspaceID, overwrites: overwrites, now: now)
    }

    /// As `channel`, from the member's base permissions already computed (one base for many channels).
    public static func channel(_ member: MemberGrant, base: Permissions, everyoneID: Snowflake, overwrites: [PermissionOverwrite],
                               now: Date = Date()) -> Permissions {
        if base.contains(.administrator) { return .all }
        var permissions = base
        if let everyone = overwrites.first(where: { $0.kind == .role && $0.id == everyoneID }) {
            permissions.subtract(everyone.deny)
            permissions.formUnion(everyone.allow)
        }
        var allow: Permissions = [], deny: Permissions = []
        let held = Set(member.roleIDs)
        for overwrite in overwrites where overwrite.kind == .role && overwrite.id != everyoneID && held.contains(overwrite.id) {
            allow.formUnion(overwrite.allow)
            deny.formUnion(overwrite.deny)
        }
        permissions.subtract(deny)
        permissions.formUnion(allow)
        if let own = overwrites.first(where: { $0.kind == .member && $0.id == member.userID }) {
            permissions.subtract(own.deny)
            permissions.formUnion(own.allow)
        }
        // A timeout outranks every overwrite.
        if isTimedOut(member, now: now) { permissions.formIntersection(timedOutKeeps) }
        return implied(permissions)
    }

    /// Discord's implicit rules: a channel one cannot see grants nothing in it, and one cannot
    /// mention everyone, attach, embed or speak aloud where one cannot send.
    public static func implied(_ permissions: Permissions) -> Permissions {
        guard permissions.contains(.viewChannel) else { return [] }
        guard permissions.contains(.sendMessages) else { return permissions.subtracting(needsSending) }
        return permissions
    }

    public static func isTimedOut(_ member: MemberGrant, now: Date) -> Bool {
        member.timedOutUntil.map { $0 > now } ?? false
    }

    // MARK: Hierarchy

    /// The position of the member's most senior role (0: only @everyone). The owner outranks all.
    public static func highestPosition(_ member: MemberGrant, in workspace: WorkspaceRoles) -> Int {
        if member.userID == workspace.ownerID { return Int.max }
        return member.roleIDs.compactMap { workspace.roles[$0]?.position }.max() ?? 0
    }

    /// Whether `actor` may act on `role` (edit it, delete it, give it, take it): only roles
    /// below the actor's most senior one, never @everyone's place (it may be edited, not given).
    public static func canManage(role: RoleGrant, actor: MemberGrant, in workspace: WorkspaceRoles) -> Bool {
        actor.userID == workspace.ownerID || role.position < highestPosition(actor, in: workspace)
    }

    /// Whether `actor` may kick, ban or time out `target`: never the owner, never oneself, and
    /// only members whose most senior role is below the actor's.
    public static func canModerate(_ target: MemberGrant, actor: MemberGrant, in workspace: WorkspaceRoles) -> Bool {
        guard target.userID != workspace.ownerID, target.userID != actor.userID else { return false }
        return highestPosition(target, in: workspace) < highestPosition(actor, in: workspace)
    }

    /// Whether `actor` may grant `permissions` (on a role or an overwrite): only what it holds,
    /// unless it administers the workspace.
    public static func canGrant(_ permissions: Permissions, actor: MemberGrant, in workspace: WorkspaceRoles, now: Date = Date()) -> Bool {
        canGrant(permissions, holding: base(actor, in: workspace, now: now))
    }

    /// Whether one holding `held` (in a workspace or a channel) may grant or deny `permissions`.
    public static func canGrant(_ permissions: Permissions, holding held: Permissions) -> Bool {
        held.contains(.administrator) || held.isSuperset(of: permissions)
    }
}
