import ConcordModels
import ConcordPermissions
import Foundation
import Testing

/// Discord's permission algorithm, case by case as its documentation (Permissions: permission
/// hierarchy, overwrites, implicit permissions, timeouts) describes it.
@Suite("Permission calculator")
struct PermissionCalculatorTests {
    let guild = Snowflake(1000)
    let owner = Snowflake(1)
    let moderator = Snowflake(2), member = Snowflake(3), newcomer = Snowflake(4)
    let admins = Snowflake(10), mods = Snowflake(11), helpers = Snowflake(12), muted = Snowflake(13)

    var workspace: WorkspaceRoles {
        WorkspaceRoles(workspaceID: guild, ownerID: owner, roles: [
            RoleGrant(id: guild, permissions: [.viewChannel, .sendMessages, .readMessageHistory, .embedLinks, .attachFiles], position: 0),
            RoleGrant(id: admins, permissions: [.administrator], position: 4),
            RoleGrant(id: mods, permissions: [.kickMembers, .manageMessages, .moderateMembers, .manageRoles], position: 3),
            RoleGrant(id: helpers, permissions: [.mentionEveryone], position: 2),
            RoleGrant(id: muted, permissions: [], position: 1),
        ])
    }

    func of(_ user: Snowflake, _ roles: [Snowflake] = [], until: Date? = nil) -> MemberGrant {
        MemberGrant(userID: user, roleIDs: roles, timedOutUntil: until)
    }

    @Test func baseIsEveryoneAndEachRoleTheOwnerAndAdministratorsHoldAll() {
        #expect(PermissionCalculator.base(of(newcomer), in: workspace) == [.viewChannel, .sendMessages, .readMessageHistory, .embedLinks, .attachFiles])
        let modBase = PermissionCalculator.base(of(moderator, [mods, helpers]), in: workspace)
        #expect(modBase.isSuperset(of: [.kickMembers, .manageMessages, .mentionEveryone, .viewChannel]))
        #expect(!modBase.contains(.banMembers))
        #expect(PermissionCalculator.base(of(owner), in: workspace) == .all, "the owner, with no role at all")
        #expect(PermissionCalculator.base(of(member, [admins]), in: workspace) == .all)
        #expect(PermissionCalculator.base(of(member, [Snowflake(999)]), in: workspace) == PermissionCalculator.base(of(member), in: workspace),
                "a role the workspace does not have grants nothing")
    }

    @Test func overwritesApplyEveryoneThenRolesTogetherThenTheMember() {
        let hidden = PermissionOverwrite(id: guild, kind: .role, allow: [], deny: [.viewChannel])
        #expect(PermissionCalculator.channel(of(member), in: workspace, overwrites: [hidden]) == [], "a private channel: nothing")
        let forMods = PermissionOverwrite(id: mods, kind: .role, allow: [.viewChannel], deny: [])
        #expect(PermissionCalculator.channel(of(moderator, [mods]), in: workspace, overwrites: [hidden, forMods]).contains(.viewChannel),
                "a role's allow beats @everyone's deny")
        // Two roles' overwrites are taken together: one role's allow beats another's deny.
        let helpersDenied = PermissionOverwrite(id: helpers, kind: .role, allow: [], deny: [.viewChannel, .sendMessages])
        let both = PermissionCalculator.channel(of(moderator, [mods, helpers]), in: workspace, overwrites: [hidden, forMods, helpersDenied])
        #expect(both.contains(.viewChannel) && !both.contains(.sendMessages))
        // The member's own overwrite has the last word, both ways.
        let kept = PermissionOverwrite(id: moderator, kind: .member, allow: [], deny: [.viewChannel])
        #expect(PermissionCalculator.channel(of(moderator, [mods]), in: workspace, overwrites: [hidden, forMods, kept]) == [])
        let invited = PermissionOverwrite(id: newcomer, kind: .member, allow: [.viewChannel], deny: [])
        #expect(PermissionCalculator.channel(of(newcomer), in: workspace, overwrites: [hidden, invited]).contains(.viewChannel))
        // A member overwrite is not a role overwrite with the same id, and a role overwrite
        // counts only for members who hold the role.
        let mistaken = PermissionOverwrite(id: mods, kind: .member, allow: [.viewChannel], deny: [])
        #expect(PermissionCalculator.channel(of(moderator, [mods]), in: workspace, overwrites: [hidden, mistaken]) == [])
        #expect(PermissionCalculator.channel(of(member), in: workspace, overwrites: [hidden, forMods]) == [])
    }

    @Test func implicitRulesFollowViewAndSend() {
        let readOnly = PermissionOverwrite(id: guild, kind: .role, allow: [.mentionEveryone], deny: [.sendMessages])
        let permissions = PermissionCalculator.channel(of(member, [helpers]), in: workspace, overwrites: [readOnly])
        #expect(permissions.contains(.viewChannel) && permissions.contains(.readMessageHistory))
        #expect(permissions.isDisjoint(with: [.sendMessages, .mentionEveryone, .attachFiles, .embedLinks, .sendTTSMessages]),
                "without SEND_MESSAGES: no mentions of everyone, attachments or embeds either")
        let unseen = PermissionOverwrite(id: guild, kind: .role, allow: [.sendMessages, .manageMessages], deny: [.viewChannel])
        #expect(PermissionCalculator.channel(of(member), in: workspace, overwrites: [unseen]) == [], "no VIEW_CHANNEL: nothing else")
    }

    @Test func administratorsAndTheOwnerPassEveryOverwrite() {
        let lockedOut = [PermissionOverwrite(id: guild, kind: .role, allow: [], deny: .all),
                         PermissionOverwrite(id: member, kind: .member, allow: [], deny: .all),
                         PermissionOverwrite(id: owner, kind: .member, allow: [], deny: .all)]
        #expect(PermissionCalculator.channel(of(member, [admins]), in: workspace, overwrites: lockedOut) == .all)
        #expect(PermissionCalculator.channel(of(owner), in: workspace, overwrites: lockedOut) == .all)
        // An overwrite cannot grant ADMINISTRATOR's bypass: it is a workspace-level permission.
        let granted = PermissionOverwrite(id: member, kind: .member, allow: [.administrator], deny: [.viewChannel])
        #expect(PermissionCalculator.channel(of(member), in: workspace, overwrites: [granted]) == [])
    }

    @Test func aTimedOutMemberMayOnlyLookUntilTheTimeoutEnds() {
        let now = Date()
        let later = now.addingTimeInterval(600)
        let everywhere = PermissionOverwrite(id: member, kind: .member, allow: [.sendMessages, .manageMessages], deny: [])
        let timedOut = PermissionCalculator.channel(of(member, [mods], until: later), in: workspace, overwrites: [everywhere], now: now)
        #expect(timedOut == [.viewChannel, .readMessageHistory])
        #expect(PermissionCalculator.base(of(member, [mods], until: later), in: workspace, now: now) == [.viewChannel, .readMessageHistory])
        let over = PermissionCalculator.channel(of(member, [mods], until: later), in: workspace, overwrites: [everywhere], now: later.addingTimeInterval(1))
        #expect(over.contains(.sendMessages) && over.contains(.kickMembers), "a timeout in the past is no timeout")
        #expect(PermissionCalculator.channel(of(member, [admins], until: later), in: workspace, overwrites: [], now: now) == .all,
                "administrators are not held by a timeout")
    }

    @Test func theHierarchyLetsMembersActOnlyBelowThemselves() {
        let ws = workspace
        let mod = of(moderator, [mods])
        #expect(PermissionCalculator.highestPosition(of(newcomer), in: ws) == 0)
        #expect(PermissionCalculator.highestPosition(of(owner), in: ws) == Int.max)
        #expect(PermissionCalculator.canManage(role: ws.roles[helpers]!, actor: mod, in: ws))
        #expect(!PermissionCalculator.canManage(role: ws.roles[mods]!, actor: mod, in: ws), "not one's own most senior role")
        #expect(!PermissionCalculator.canManage(role: ws.roles[admins]!, actor: mod, in: ws))
        #expect(PermissionCalculator.canManage(role: ws.roles[admins]!, actor: of(owner), in: ws))
        #expect(PermissionCalculator.canModerate(of(member, [helpers]), actor: mod, in: ws))
        #expect(!PermissionCalculator.canModerate(of(member, [mods]), actor: mod, in: ws), "an equal is not below")
        #expect(!PermissionCalculator.canModerate(of(owner), actor: of(member, [admins]), in: ws), "never the owner")
        #expect(!PermissionCalculator.canModerate(mod, actor: mod, in: ws), "not oneself")
        #expect(PermissionCalculator.canGrant([.kickMembers, .manageMessages], actor: mod, in: ws))
        #expect(!PermissionCalculator.canGrant([.banMembers], actor: mod, in: ws), "only what one holds")
        #expect(PermissionCalculator.canGrant([.banMembers, .administrator], actor: of(member, [admins]), in: ws))
    }
}
