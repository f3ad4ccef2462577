import ConcordGateway
import ConcordModels
import Foundation
import NIOHTTP1
import Testing

/// Private channels through Discord's overwrite routes: enforced on reads and writes, in the
/// gateway's fan-out (nothing after access is lost, nothing missed after it is gained, also with
/// sends racing the change), in read states; inherited from a category; cleaned up with a role.
@Suite("Channel permissions")
struct ChannelPermissionTests {
    static let view = Permissions.viewChannel.rawValue

    /// The owner (alice), a member with a staff role (carol), a member without (bob), a
    /// channel only staff may see, and a session each for bob and carol.
    struct Setup {
        var guild: Guild
        var general: Snowflake
        var secret: Snowflake
        var staff: Role
        var bobID: Snowflake, bob: String
        var carolID: Snowflake, carol: String
        var alice: String
    }

    static func setUp(_ c: TestCluster) async throws -> Setup {
        let (_, alice) = try await c.register("alice")
        let (bobID, bob) = try await c.register("bob")
        let (carolID, carol) = try await c.register("carol")
        let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Private")).decode(Guild.self)
        let general = try #require(guild.system_channel_id)
        let invite = try await c.request(.POST, "/channels/\(general)/invites", token: alice, json: "{}").decode(Invite.self)
        for token in [bob, carol] { #expect(try await c.request(.POST, "/invites/\(invite.code)", token: token).status == 200) }
        let staff = try await c.request(.POST, "/guilds/\(guild.id)/roles", token: alice, json: #"{"name":"staff"}"#).decode(Role.self)
        #expect(try await c.request(.PUT, "/guilds/\(guild.id)/members/\(carolID)/roles/\(staff.id)", token: alice).status == 204)
        let created = try await c.request(.POST, "/guilds/\(guild.id)/channels", token: alice, json: """
            {"name":"secret","permission_overwrites":[{"id":"\(guild.id)","type":0,"deny":"\(view)"},{"id":\(staff.id),"type":0,"allow":"\(view)"}]}
            """)
        #expect(created.status == 201, "\(created.text)")
        let secret = try created.decode(GuildChannel.self)
        #expect(secret.permission_overwrites.count == 2 && secret.permission_overwrites[1].allow == String(view))
        return Setup(guild: guild, general: general, secret: secret.id, staff: staff, bobID: bobID, bob: bob, carolID: carolID, carol: carol, alice: alice)
    }

    @Test func aPrivateChannelIsClosedToOthersOnEveryPath() async throws {
        try await TestCluster.with { c in
            let s = try await Self.setUp(c)
            let bobSession = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            bobSession.send(GatewayFrames.identify(s.bob, intents: GatewayFrames.defaultIntents | 1 << 1))
            let created = try await bobSession.waitDispatch("GUILD_CREATE")
            let listed = created["d"]?["channels"]?.arrayValue?.first { $0["id"]?.stringValue == s.secret.description }
            #expect(listed?["permission_overwrites"]?.arrayValue?.count == 2, "channel metadata is not secret, as on Discord")
            let carolSession = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            carolSession.send(GatewayFrames.identify(s.carol))
            _ = try await carolSession.waitDispatch("GUILD_CREATE")

            func post(_ channel: Snowflake, _ content: String, token: String? = nil) async throws -> Snowflake {
                try await c.request(.POST, "/channels/\(channel)/messages", token: token ?? s.alice, body: MessageCreateRequest(content: content)).decode(Message.self).id
            }
            _ = try await post(s.secret, "hidden from bob")
            _ = try await carolSession.waitDispatch("MESSAGE_CREATE") { $0["d"]?["content"]?.stringValue == "hidden from bob" }
            _ = try await post(s.general, "marker 1")
            _ = try await bobSession.waitDispatch("MESSAGE_CREATE") { $0["d"]?["content"]?.stringValue == "marker 1" }
            #expect(!bobSession.dispatches("MESSAGE_CREATE").contains { $0["d"]?["channel_id"]?.stringValue == s.secret.description })

            // REST: bob cannot read, post, type or ack there; carol can.
            for (method, path) in [(HTTPMethod.GET, "/channels/\(s.secret)/messages"), (.GET, "/channels/\(s.secret)"), (.POST, "/channels/\(s.secret)/typing")] {
                let refused = try await c.request(method, path, token: s.bob)
                #expect(refused.status == 403 && refused.json?["code"]?.intValue == 50001, "\(path): \(refused.text)")
            }
            let refusedPost = try await c.request(.POST, "/channels/\(s.secret)/messages", token: s.bob, body: MessageCreateRequest(content: "let me in"))
            #expect(refusedPost.status == 403 && refusedPost.json?["code"]?.intValue == 50001)
            #expect(try await c.request(.GET, "/channels/\(s.secret)/messages", token: s.carol).status == 200)
            // Nor change its overwrites: that takes MANAGE_ROLES.
            #expect(try await c.request(.PUT, "/channels/\(s.general)/permissions/\(s.bobID)", token: s.bob, json: #"{"type":1,"allow":"0"}"#).status == 403)

            // Read states: bob has none for the channel he cannot see.
            let bobStates = try await c.request(.GET, "/users/@me/read-states", token: s.bob).json?.arrayValue ?? []
            #expect(bobStates.contains { $0["id"]?.stringValue == s.general.description })
            #expect(!bobStates.contains { $0["id"]?.stringValue == s.secret.description })
            let carolStates = try await c.request(.GET, "/users/@me/read-states", token: s.carol).json?.arrayValue ?? []
            #expect(carolStates.contains { $0["id"]?.stringValue == s.secret.description && $0["unread_count"]?.intValue == 1 })

            // A member overwrite of bob's own opens it to him: every message after, none before.
            let opened = try await c.request(.PUT, "/channels/\(s.secret)/permissions/\(s.bobID)", token: s.alice,
                                             json: #"{"type":1,"allow":"\#(Self.view)","deny":"0"}"#)
            #expect(opened.status == 204, "\(opened.text)")
            let update = try await bobSession.waitDispatch("CHANNEL_UPDATE") { $0["d"]?["id"]?.stringValue == s.secret.description }
            #expect(update["d"]?["permission_overwrites"]?.arrayValue?.count == 3)
            _ = try await post(s.secret, "welcome bob")
            _ = try await bobSession.waitDispatch("MESSAGE_CREATE") { $0["d"]?["content"]?.stringValue == "welcome bob" }
            #expect(try await c.request(.GET, "/channels/\(s.secret)/messages", token: s.bob).json?.arrayValue?.count == 2, "history too")

            // Taken away again: nothing more reaches him.
            #expect(try await c.request(.DELETE, "/channels/\(s.secret)/permissions/\(s.bobID)", token: s.alice).status == 204)
            _ = try await post(s.secret, "bob is gone")
            _ = try await post(s.general, "marker 2")
            _ = try await bobSession.waitDispatch("MESSAGE_CREATE") { $0["d"]?["content"]?.stringValue == "marker 2" }
            let bobSecret = bobSession.dispatches("MESSAGE_CREATE").filter { $0["d"]?["channel_id"]?.stringValue == s.secret.description }
            #expect(bobSecret.compactMap { $0["d"]?["content"]?.stringValue } == ["welcome bob"])

            // @everyone without VIEW_CHANNEL: bob, with no role, sees nothing at all; carol keeps staff's channel.
            let everyone = Permissions.everyoneDefault.subtracting(.viewChannel).rawValue
            #expect(try await c.request(.PATCH, "/guilds/\(s.guild.id)/roles/\(s.guild.id)", token: s.alice, json: #"{"permissions":"\#(everyone)"}"#).status == 200)
            _ = try await post(s.general, "nobody without a role")
            _ = try await post(s.secret, "staff only")
            _ = try await carolSession.waitDispatch("MESSAGE_CREATE") { $0["d"]?["content"]?.stringValue == "staff only" }
            #expect(try await c.request(.GET, "/channels/\(s.general)/messages", token: s.bob).status == 403)
            // A fresh session's READY agrees with what the first built from events.
            let later = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            later.send(GatewayFrames.identify(s.bob))
            let ready = try await later.waitDispatch("READY")
            #expect(ready["d"]?["read_state"]?["entries"]?.arrayValue?.isEmpty ?? true, "no read state for channels he cannot see: \(ready["d"]?["read_state"] ?? .null)")
            #expect(!bobSession.dispatches("MESSAGE_CREATE").contains { $0["d"]?["content"]?.stringValue == "nobody without a role" })
            for session in [bobSession, carolSession, later] { session.close() }
        }
    }

    @Test func accessChangesRacingSendsCutTheStreamAtOnePoint() async throws {
        try await TestCluster.with { c in
            let s = try await Self.setUp(c)
            let bobSession = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            bobSession.send(GatewayFrames.identify(s.bob))
            _ = try await bobSession.waitDispatch("GUILD_CREATE")
            // Alice posts 40 messages one after another while bob is given the staff role
            // halfway: bob must get exactly the messages committed after the grant.
            let sender = Task {
                var ids: [String] = []
                for n in 0..<40 {
                    let id = try await c.request(.POST, "/channels/\(s.secret)/messages", token: s.alice,
                                                 body: MessageCreateRequest(content: "race \(n)")).decode(Message.self).id
                    ids.append(id.description)
                }
                return ids
            }
            try await Task.sleep(for: .milliseconds(150))
            #expect(try await c.request(.PUT, "/guilds/\(s.guild.id)/members/\(s.bobID)/roles/\(s.staff.id)", token: s.alice).status == 204)
            let sent = try await sender.value
            _ = try await c.request(.POST, "/channels/\(s.secret)/messages", token: s.alice, body: MessageCreateRequest(content: "race end"))
            _ = try await bobSession.waitDispatch("MESSAGE_CREATE") { $0["d"]?["content"]?.stringValue == "race end" }
            let received = bobSession.dispatches("MESSAGE_CREATE").compactMap { $0["d"]?["id"]?.stringValue }.filter(sent.contains)
            // One cut: a suffix of what was sent, in order, with nothing missing after its start.
            #expect(received == Array(sent.suffix(received.count)), "bob got \(received.count) of \(sent.count), not a tail")
            #expect(received.count < sent.count, "the grant came after the first sends")
            bobSession.close()
        }
    }

    /// A plain send goes with the access kept from the sender's last send: every change to the
    /// roles, overwrites, membership or the member itself must reach the very next send.
    @Test func aKeptSendAccessFollowsEveryChange() async throws {
        try await TestCluster.with { c in
            let s = try await Self.setUp(c)
            func send(_ channel: Snowflake, _ token: String, _ content: String) async throws -> (status: Int, message: Message?) {
                let reply = try await c.request(.POST, "/channels/\(channel)/messages", token: token, body: MessageCreateRequest(content: content))
                return (reply.status, reply.status == 200 ? try reply.decode(Message.self) : nil)
            }
            #expect(try await send(s.secret, s.carol, "staff only").status == 200)
            #expect(try await c.request(.DELETE, "/guilds/\(s.guild.id)/members/\(s.carolID)/roles/\(s.staff.id)", token: s.alice).status == 204)
            #expect(try await send(s.secret, s.carol, "no longer staff").status == 403, "a role taken away")
            #expect(try await c.request(.PUT, "/guilds/\(s.guild.id)/members/\(s.carolID)/roles/\(s.staff.id)", token: s.alice).status == 204)
            #expect(try await send(s.secret, s.carol, "staff again").status == 200, "a role given back")
            let sendBit = Permissions.sendMessages.rawValue
            #expect(try await c.request(.PATCH, "/guilds/\(s.guild.id)/roles/\(s.staff.id)", token: s.alice,
                                        json: #"{"permissions":"\#(Permissions.viewChannel.rawValue)"}"#).status == 200)
            let overwrite = try await c.request(.PUT, "/channels/\(s.secret)/permissions/\(s.staff.id)", token: s.alice,
                                                json: #"{"type":0,"allow":"\#(Self.view)","deny":"\#(sendBit)"}"#)
            #expect(overwrite.status == 204, "\(overwrite.text)")
            #expect(try await send(s.secret, s.carol, "muted by overwrite").status == 403, "an overwrite denying sends")

            #expect(try await send(s.general, s.bob, "hello").message?.author.username == "bob")
            #expect(try await c.request(.PATCH, "/guilds/\(s.guild.id)/members/\(s.bobID)", token: s.alice, json: #"{"nick":"Bobby"}"#).status == 200)
            #expect(try await send(s.general, s.bob, "renamed").message?.member?.nick == "Bobby", "the member as it is now")
            #expect(try await c.request(.DELETE, "/guilds/\(s.guild.id)/members/\(s.bobID)", token: s.alice).status == 204)
            #expect(try await send(s.general, s.bob, "kicked").status == 403, "a member removed")
        }
    }

    @Test func categoriesPassTheirOverwritesOnAndDeletedRolesLeaveNone() async throws {
        try await TestCluster.with { c in
            let s = try await Self.setUp(c)
            let category = try await c.request(.POST, "/guilds/\(s.guild.id)/channels", token: s.alice, json: """
                {"name":"Staff","type":4,"permission_overwrites":[{"id":"\(s.guild.id)","type":0,"deny":"\(Self.view)"},{"id":"\(s.staff.id)","type":0,"allow":"\(Self.view)"}]}
                """).decode(GuildChannel.self)
            let child = try await c.request(.POST, "/guilds/\(s.guild.id)/channels", token: s.alice, body: ChannelCreateRequest(name: "plans", parentID: category.id)).decode(GuildChannel.self)
            #expect(child.permission_overwrites == category.permission_overwrites, "a new channel starts with its category's overwrites")
            #expect(try await c.request(.GET, "/channels/\(child.id)", token: s.bob).status == 403)
            #expect(try await c.request(.GET, "/channels/\(child.id)", token: s.carol).status == 200)
            // Its own overwrites instead, when it names them (an empty list: none).
            let open = try await c.request(.POST, "/guilds/\(s.guild.id)/channels", token: s.alice,
                                           json: #"{"name":"open","parent_id":"\#(category.id)","permission_overwrites":[]}"#).decode(GuildChannel.self)
            #expect(open.permission_overwrites.isEmpty)
            // PATCH replaces the list.
            let patched = try await c.request(.PATCH, "/channels/\(open.id)", token: s.alice,
                                              json: #"{"permission_overwrites":[{"id":"\#(s.bobID)","type":1,"deny":"\#(Self.view)"}]}"#).decode(GuildChannel.self)
            #expect(patched.permission_overwrites.map(\.id) == [s.bobID])
            #expect(try await c.request(.GET, "/channels/\(open.id)", token: s.bob).status == 403)

            // Deleting the role takes its overwrites from every channel.
            #expect(try await c.request(.DELETE, "/guilds/\(s.guild.id)/roles/\(s.staff.id)", token: s.alice).status == 204)
            for id in [category.id, child.id, s.secret] {
                let channel = try await c.request(.GET, "/channels/\(id)", token: s.alice).decode(GuildChannel.self)
                #expect(channel.permission_overwrites.map(\.id) == [s.guild.id])
            }
            #expect(try await c.request(.GET, "/channels/\(s.secret)", token: s.carol).status == 403, "carol's way in went with the role")
        }
    }

    @Test func badOverwritesAreFormErrorsAndChangeNothing() async throws {
        try await TestCluster.with { c in
            let s = try await Self.setUp(c)
            let path = "/channels/\(s.general)/permissions/\(s.bobID)"
            for body in [#"{"type":1,"allow":"-1"}"#, #"{"type":1,"allow":"18446744073709551615"}"#, #"{"type":7}"#, #"{"allow":"1024"}"#,
                         #"{"type":1,"deny":"x\u0000"}"#] {
                let reply = try await c.request(.PUT, path, token: s.alice, json: body)
                #expect(reply.status == 400 && reply.json?["code"]?.intValue == 50035, "\(body): \(reply.text)")
            }
            let unknownRole = try await c.request(.PUT, "/channels/\(s.general)/permissions/12345", token: s.alice, json: #"{"type":0}"#)
            #expect(unknownRole.status == 404 && unknownRole.json?["code"]?.intValue == 10011)
            let unknownMember = try await c.request(.PUT, "/channels/\(s.general)/permissions/12345", token: s.alice, json: #"{"type":1}"#)
            #expect(unknownMember.status == 404 && unknownMember.json?["code"]?.intValue == 10007)
            let badID = try await c.request(.PUT, "/channels/\(s.general)/permissions/18446744073709551615", token: s.alice, json: #"{"type":1}"#)
            #expect(badID.status == 400)
            let tooMany = (0...Limits.overwritesPerChannel).map { #"{"id":"\#($0 + 1)","type":1}"# }.joined(separator: ",")
            let many = try await c.request(.PATCH, "/channels/\(s.general)", token: s.alice, json: #"{"permission_overwrites":[\#(tooMany)]}"#)
            #expect(many.status == 400 && many.json?["code"]?.intValue == 50035)
            // A moderator with MANAGE_ROLES grants only what he holds.
            let manageRoles = Permissions([.manageRoles, .viewChannel]).rawValue
            let mods = try await c.request(.POST, "/guilds/\(s.guild.id)/roles", token: s.alice, json: #"{"name":"mods","permissions":"\#(manageRoles)"}"#).decode(Role.self)
            #expect(try await c.request(.PUT, "/guilds/\(s.guild.id)/members/\(s.carolID)/roles/\(mods.id)", token: s.alice).status == 204)
            let ban = Permissions.banMembers.rawValue
            let refused = try await c.request(.PUT, path, token: s.carol, json: #"{"type":1,"allow":"\#(ban)"}"#)
            #expect(refused.status == 403 && refused.json?["code"]?.intValue == 50013)
            #expect(try await c.request(.PUT, path, token: s.carol, json: #"{"type":1,"deny":"\#(Self.view)"}"#).status == 204)
            let general = try await c.request(.GET, "/channels/\(s.general)", token: s.alice).decode(GuildChannel.self)
            #expect(general.permission_overwrites == [ChannelOverwrite(id: s.bobID, type: 1, allow: [], deny: .viewChannel)])
        }
    }
}
