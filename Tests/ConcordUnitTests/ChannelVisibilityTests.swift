import ConcordGateway
import ConcordModels
import Foundation
import Testing

/// A session's channel visibility as events change it: roles, overwrites, the member's roles,
/// joining and leaving; each channel's content admitted only while the user can view it.
@Suite("Channel visibility")
struct ChannelVisibilityTests {
    let guild = Snowflake(1000), owner = Snowflake(1), me = Snowflake(3)
    let open = Snowflake(2001), secret = Snowflake(2002)
    let staff = Snowflake(10)

    func payload(staffHolders: [Snowflake] = []) -> GuildCreatePayload {
        var g = Guild(id: guild, name: "w", description: nil, ownerID: owner, systemChannelID: open)
        var staffRole = Role(id: staff, name: "staff", permissions: "0")
        staffRole.position = 1
        g.roles.append(staffRole)
        let general = GuildChannel(id: open, type: .guildText, guildID: guild, name: "general", topic: nil, position: 0, parentID: nil, nsfw: false, lastMessageID: nil)
        var hidden = GuildChannel(id: secret, type: .guildText, guildID: guild, name: "secret", topic: nil, position: 1, parentID: nil, nsfw: false, lastMessageID: nil)
        hidden.permission_overwrites = [ChannelOverwrite(id: guild, type: ChannelOverwrite.role, allow: [], deny: .viewChannel),
                                        ChannelOverwrite(id: staff, type: ChannelOverwrite.role, allow: .viewChannel, deny: [])]
        var mine = Member(user: User(id: me, username: "me", globalName: nil, bot: false), nick: nil, joinedAt: "2026-01-01T00:00:00.000000+00:00")
        mine.roles = staffHolders.contains(me) ? [staff] : []
        return GuildCreatePayload(guild: g, channels: [general, hidden], members: [mine], memberCount: 2, joinedAt: nil, large: false)
    }

    func message(in channel: Snowflake) -> VisibilityEvent {
        VisibilityEvent(type: "MESSAGE_CREATE", guild: guild, channel: channel, payload: #"{"id":"1"}"#)
    }

    func event(_ type: String, channel: Snowflake? = nil, _ value: some Encodable) throws -> VisibilityEvent {
        VisibilityEvent(type: type, guild: guild, channel: channel, payload: try WireJSON.encodeString(value))
    }

    @Test func overwritesHideAChannelAndARoleOpensIt() throws {
        let visibility = Tracker(userID: me)
        visibility.load(payload())
        #expect(visibility.admit(message(in: open)))
        #expect(!visibility.admit(message(in: secret)))
        #expect(visibility.admit(try event("CHANNEL_UPDATE", channel: secret, payload().channels[1])), "channel metadata reaches everyone")

        var member = Member(user: User(id: me, username: "me", globalName: nil, bot: false), nick: nil, joinedAt: "2026-01-01T00:00:00.000000+00:00")
        member.roles = [staff]
        #expect(visibility.admit(try event("GUILD_MEMBER_UPDATE", WithGuildID(member, guildID: guild))))
        #expect(visibility.admit(message(in: secret)), "the role's overwrite opens it from the next event on")

        // Someone else's roles change nothing here.
        var other = member
        other.user = User(id: Snowflake(4), username: "other", globalName: nil, bot: false)
        other.roles = []
        _ = visibility.admit(try event("GUILD_MEMBER_UPDATE", WithGuildID(other, guildID: guild)))
        #expect(visibility.admit(message(in: secret)))

        // A member overwrite of one's own outranks the role's.
        var channel = payload().channels[1]
        channel.permission_overwrites.append(ChannelOverwrite(id: me, type: ChannelOverwrite.member, allow: [], deny: .viewChannel))
        _ = visibility.admit(try event("CHANNEL_UPDATE", channel: secret, channel))
        #expect(!visibility.admit(message(in: secret)))
        #expect(visibility.admit(message(in: open)))
    }

    @Test func rolesChangeWhatEveryoneSeesAndDeletedRolesGrantNothing() throws {
        let visibility = Tracker(userID: me)
        visibility.load(payload(staffHolders: [me]))
        #expect(visibility.admit(message(in: secret)))
        _ = visibility.admit(try event("GUILD_ROLE_DELETE", GuildRoleDeletePayload(guildID: guild, roleID: staff)))
        #expect(!visibility.admit(message(in: secret)))

        // @everyone without VIEW_CHANNEL: nothing without an overwrite is visible.
        var everyone = Role.everyone(guildID: guild)
        everyone.permissions = String(Permissions.sendMessages.rawValue)
        _ = visibility.admit(try event("GUILD_ROLE_UPDATE", GuildRolePayload(guildID: guild, role: everyone)))
        #expect(!visibility.admit(message(in: open)))
        #expect(!visibility.admit(message(in: Snowflake(2999))), "nor a channel it has not heard of")

        // An administrator role sees everything.
        var admin = Role(id: Snowflake(11), name: "admin", permissions: String(Permissions.administrator.rawValue))
        admin.position = 2
        _ = visibility.admit(try event("GUILD_ROLE_CREATE", GuildRolePayload(guildID: guild, role: admin)))
        var member = Member(user: User(id: me, username: "me", globalName: nil, bot: false), nick: nil, joinedAt: "2026-01-01T00:00:00.000000+00:00")
        member.roles = [admin.id]
        _ = visibility.admit(try event("GUILD_MEMBER_UPDATE", WithGuildID(member, guildID: guild)))
        #expect(visibility.admit(message(in: secret)) && visibility.admit(message(in: open)))
    }

    @Test func leavingEndsAWorkspacesContentAndJoiningStartsIt() throws {
        let visibility = Tracker(userID: me)
        #expect(!visibility.admit(message(in: open)), "a workspace the session was never shown")
        #expect(visibility.admit(try event("GUILD_CREATE", payload())))
        #expect(visibility.admit(message(in: open)) && !visibility.admit(message(in: secret)))
        #expect(visibility.admit(VisibilityEvent(type: "GUILD_DELETE", guild: guild, channel: nil, payload: #"{"id":"1000"}"#)))
        #expect(!visibility.admit(message(in: open)))
        let direct = VisibilityEvent(type: "MESSAGE_CREATE", guild: nil, channel: Snowflake(3000), payload: "{}")
        #expect(visibility.admit(direct), "DMs are untouched")
    }

    /// Sessions loading through the edge's shared copies still judge as their own member: a
    /// staff holder and a plain member of one workspace see what each may, and one session's
    /// change (its role deleted, an overwrite added) leaves the other's view as it was.
    @Test func sessionsSharingAWorkspacesCopyKeepTheirOwnView() throws {
        let shared = SharedWorkspaceViews(capacity: 1)
        var staffer = ChannelVisibility(userID: me), plain = ChannelVisibility(userID: Snowflake(4)), another = ChannelVisibility(userID: me)
        staffer.load(payload(staffHolders: [me]), sharing: shared)
        plain.load(payload(staffHolders: [me]), sharing: shared)
        #expect(staffer.canView(secret, in: guild) && !plain.canView(secret, in: guild) && plain.canView(open, in: guild))
        _ = staffer.admit(try event("GUILD_ROLE_DELETE", GuildRoleDeletePayload(guildID: guild, roleID: staff)))
        #expect(!staffer.canView(secret, in: guild))
        another.load(payload(staffHolders: [me]), sharing: shared)
        #expect(another.canView(secret, in: guild), "a later session gets the workspace as its READY shows it")
        var closed = payload().channels[0]
        closed.permission_overwrites = [ChannelOverwrite(id: guild, type: ChannelOverwrite.role, allow: [], deny: .viewChannel)]
        _ = plain.admit(try event("CHANNEL_UPDATE", channel: open, closed))
        #expect(!plain.canView(open, in: guild) && another.canView(open, in: guild) && !staffer.canView(secret, in: guild))
        // Past its capacity the edge's memory starts over; views loaded from it stay right.
        var elsewhere = ChannelVisibility(userID: me), unshared = ChannelVisibility(userID: me)
        var other = payload(staffHolders: [me])
        other.guild.id = Snowflake(1001)
        elsewhere.load(other, sharing: shared)
        unshared.load(other)
        #expect(elsewhere == unshared && another.canView(secret, in: guild))
    }

    @Test func theOwnerSeesEverything() throws {
        let visibility = Tracker(userID: owner)
        visibility.load(payload())
        #expect(visibility.admit(message(in: secret)))
        var guildObject = payload().guild
        guildObject.owner_id = me
        _ = visibility.admit(try event("GUILD_UPDATE", guildObject))
        #expect(!visibility.admit(message(in: secret)), "until the workspace changes hands")
    }
}

/// A session's visibility behind a reference, so `#expect` can feed it events.
final class Tracker {
    var state: ChannelVisibility
    init(userID: Snowflake) { state = ChannelVisibility(userID: userID) }
    func load(_ payload: GuildCreatePayload) { state.load(payload) }
    func admit(_ event: VisibilityEvent) -> Bool { state.admit(event) }
}
