import ConcordModels
import Foundation
import NIOHTTP1
import Testing

/// Kicks, bans (with their messages), timeouts, nicknames and leaving, through Discord's routes,
/// with the hierarchy: a moderator acts only on members below them, never on the owner.
@Suite("Moderation")
struct ModerationTests {
    @Test func moderatorsKickBanAndTimeOutMembersBelowThem() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let (bobID, bob) = try await c.register("bob")
            let (carolID, carol) = try await c.register("carol")
            let (daveID, dave) = try await c.register("dave")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Moderated")).decode(Guild.self)
            let general = try #require(guild.system_channel_id)
            let invite = try await c.request(.POST, "/channels/\(general)/invites", token: alice, json: "{}").decode(Invite.self)
            for token in [bob, carol, dave] { #expect(try await c.request(.POST, "/invites/\(invite.code)", token: token).status == 200) }
            let powers = Permissions([.kickMembers, .banMembers, .moderateMembers, .manageNicknames, .manageMessages]).rawValue
            let mods = try await c.request(.POST, "/guilds/\(guild.id)/roles", token: alice, json: #"{"name":"Mods","permissions":"\#(powers)"}"#).decode(Role.self)
            let seniors = try await c.request(.POST, "/guilds/\(guild.id)/roles", token: alice, json: #"{"name":"Seniors"}"#).decode(Role.self)
            // Seniors above Mods.
            _ = try await c.request(.PATCH, "/guilds/\(guild.id)/roles", token: alice, json: #"[{"id":"\#(seniors.id)","position":2}]"#)
            #expect(try await c.request(.PUT, "/guilds/\(guild.id)/members/\(bobID)/roles/\(mods.id)", token: alice).status == 204)
            #expect(try await c.request(.PUT, "/guilds/\(guild.id)/members/\(daveID)/roles/\(seniors.id)", token: alice).status == 204)

            // Nobody above or equal, never the owner.
            #expect(try await c.request(.DELETE, "/guilds/\(guild.id)/members/\(daveID)", token: bob).status == 403, "Dave ranks above Bob")
            let aliceID = try await ownerID(c, alice)
            #expect(try await c.request(.DELETE, "/guilds/\(guild.id)/members/\(aliceID)", token: bob).status == 403)
            #expect(try await c.request(.DELETE, "/guilds/\(guild.id)/members/\(bobID)", token: carol).status == 403, "Carol has no KICK_MEMBERS")

            // A timeout: Carol may read but not send, until it is lifted.
            let until = DiscordTimestamp.string(from: Date().addingTimeInterval(600))
            let timedOut = try await c.request(.PATCH, "/guilds/\(guild.id)/members/\(carolID)", token: bob, json: #"{"communication_disabled_until":"\#(until)"}"#)
            #expect(timedOut.status == 200 && timedOut.json?["communication_disabled_until"]?.stringValue != nil, "\(timedOut.text)")
            let muted = try await c.request(.POST, "/channels/\(general)/messages", token: carol, body: MessageCreateRequest(content: "let me speak"))
            #expect(muted.status == 403 && muted.json?["code"]?.intValue == 50013)
            #expect(try await c.request(.GET, "/channels/\(general)/messages", token: carol).status == 200, "a timed-out member still reads")
            let tooLong = DiscordTimestamp.string(from: Date().addingTimeInterval(40 * 86_400))
            #expect(try await c.request(.PATCH, "/guilds/\(guild.id)/members/\(carolID)", token: bob, json: #"{"communication_disabled_until":"\#(tooLong)"}"#).status == 400)
            #expect(try await c.request(.PATCH, "/guilds/\(guild.id)/members/\(carolID)", token: bob, json: #"{"communication_disabled_until":null}"#).status == 200)
            #expect(try await c.request(.POST, "/channels/\(general)/messages", token: carol, body: MessageCreateRequest(content: "thanks")).status == 200)

            // Nicknames: a moderator's for others, one's own with CHANGE_NICKNAME.
            let nicked = try await c.request(.PATCH, "/guilds/\(guild.id)/members/\(carolID)", token: bob, json: #"{"nick":"Caz"}"#)
            #expect(nicked.json?["nick"]?.stringValue == "Caz", "\(nicked.text)")
            let own = try await c.request(.PATCH, "/guilds/\(guild.id)/members/@me", token: carol, json: #"{"nick":"Carol B."}"#)
            #expect(own.status == 200 && own.json?["nick"]?.stringValue == "Carol B.", "\(own.text)")

            // A kick: Carol's sessions lose the workspace; an invite brings her back.
            let carolSession = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            carolSession.send(GatewayFrames.identify(carol))
            _ = try await carolSession.waitDispatch("GUILD_CREATE")
            #expect(try await c.request(.DELETE, "/guilds/\(guild.id)/members/\(carolID)", token: bob).status == 204)
            _ = try await carolSession.waitDispatch("GUILD_DELETE")
            #expect(try await c.request(.GET, "/channels/\(general)/messages", token: carol).status == 403)
            #expect(try await c.request(.POST, "/invites/\(invite.code)", token: carol).status == 200)

            // A ban takes the last hour of her messages with her and keeps her out.
            let recent = try await c.request(.POST, "/channels/\(general)/messages", token: carol, body: MessageCreateRequest(content: "spam")).decode(Message.self)
            let banned = try await c.request(.PUT, "/guilds/\(guild.id)/bans/\(carolID)", token: bob, json: #"{"delete_message_seconds":3600}"#)
            #expect(banned.status == 204, "\(banned.text)")
            #expect(try await c.request(.GET, "/channels/\(general)/messages/\(recent.id)", token: alice).status == 404, "her message went with her")
            let refused = try await c.request(.POST, "/invites/\(invite.code)", token: carol)
            #expect(refused.status == 403 && refused.json?["code"]?.intValue == 40007)
            let bans = try await c.request(.GET, "/guilds/\(guild.id)/bans", token: bob).decode([Ban].self)
            #expect(bans.map(\.user.id) == [carolID])
            #expect(try await c.request(.GET, "/guilds/\(guild.id)/bans/\(carolID)", token: bob).decode(Ban.self).user.id == carolID)
            #expect(try await c.request(.GET, "/guilds/\(guild.id)/bans/\(daveID)", token: bob).json?["code"]?.intValue == 10026)
            #expect(try await c.request(.GET, "/guilds/\(guild.id)/bans", token: dave).status == 403)
            #expect(try await c.request(.DELETE, "/guilds/\(guild.id)/bans/\(carolID)", token: bob).status == 204)
            #expect(try await c.request(.POST, "/invites/\(invite.code)", token: carol).status == 200, "unbanned, she may come back")

            // Leaving: anyone but the owner.
            #expect(try await c.request(.DELETE, "/users/@me/guilds/\(guild.id)", token: dave).status == 204)
            #expect(try await c.request(.GET, "/guilds/\(guild.id)/members/\(daveID)", token: alice).status == 404)
            #expect(try await c.request(.DELETE, "/users/@me/guilds/\(guild.id)", token: alice).status == 400)
            carolSession.close()
        }
    }

    /// The role and moderation routes take hostile numbers and strings as form errors, never a
    /// 5xx, and change nothing.
    @Test func hostileInputToRoleAndModerationRoutesIsAClientError() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let (bobID, bob) = try await c.register("bob")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Hostile")).decode(Guild.self)
            let invite = try await c.request(.POST, "/channels/\(guild.system_channel_id!)/invites", token: alice, json: "{}").decode(Invite.self)
            #expect(try await c.request(.POST, "/invites/\(invite.code)", token: bob).status == 200)
            let huge = "18446744073709551615"
            let cases: [(HTTPMethod, String, String?)] = [
                (.PATCH, "/guilds/\(guild.id)/roles/\(huge)", #"{"name":"x"}"#),
                (.DELETE, "/guilds/\(guild.id)/roles/-1", nil),
                (.PUT, "/guilds/\(guild.id)/members/\(bobID)/roles/\(huge)", nil),
                (.POST, "/guilds/\(guild.id)/roles", #"{"permissions":"\#(huge)"}"#),
                (.POST, "/guilds/\(guild.id)/roles", #"{"permissions":"-1","color":-1}"#),
                (.POST, "/guilds/\(guild.id)/roles", #"{"name":"nul\u0000role"}"#),
                (.PATCH, "/guilds/\(guild.id)/roles", #"[{"id":"1","position":\#(huge)}]"#),
                (.PATCH, "/guilds/\(guild.id)/roles", #"[{"id":"\#(huge)0","position":1}]"#),
                (.PATCH, "/guilds/\(guild.id)/members/\(bobID)", #"{"nick":"nul\u0000"}"#),
                (.PATCH, "/guilds/\(guild.id)/members/\(bobID)", #"{"communication_disabled_until":"\u0000"}"#),
                (.PATCH, "/guilds/\(guild.id)/members/\(bobID)", #"{"communication_disabled_until":"-1"}"#),
                (.PUT, "/guilds/\(guild.id)/bans/\(bobID)", #"{"delete_message_seconds":\#(huge)}"#),
                (.PUT, "/guilds/\(guild.id)/bans/\(bobID)", #"{"delete_message_seconds":-1}"#),
                (.GET, "/guilds/\(guild.id)/bans?limit=\(huge)", nil),
                (.GET, "/guilds/\(guild.id)/bans?after=-1", nil),
                (.POST, "/guilds/\(guild.id)/roles", #"{"name":""# + String(repeating: "x", count: 10 << 20) + #""}"#),
            ]
            for (method, path, body) in cases {
                let reply = try await c.request(method, path, token: alice, json: body)
                #expect((400..<500).contains(reply.status), "\(method) \(path.prefix(80)): \(reply.status) \(reply.text.prefix(200))")
                if reply.status != 413 { #expect(reply.json?["code"] != nil, "Discord's error shape: \(reply.text.prefix(200))") }
            }
            let roles = try await c.request(.GET, "/guilds/\(guild.id)/roles", token: alice).decode([Role].self)
            #expect(roles.map(\.name) == ["@everyone"], "nothing was made")
            #expect(try await c.request(.GET, "/guilds/\(guild.id)/members/\(bobID)", token: alice).decode(Member.self).nick == nil)
            #expect(try await c.request(.GET, "/guilds/\(guild.id)/bans", token: alice).decode([Ban].self).isEmpty)
        }
    }

    func ownerID(_ c: TestCluster, _ token: String) async throws -> Snowflake {
        try await c.request(.GET, "/users/@me", token: token).decode(User.self).id
    }

    @Test func bulkBanBansWhomItCanAndNamesTheRest() async throws {
        try await TestCluster.with { c in
            let (ownerID, owner) = try await c.register("owner")
            let guild = try await c.request(.POST, "/guilds", token: owner, body: GuildCreateRequest(name: "Many")).decode(Guild.self)
            let general = try #require(guild.system_channel_id)
            let invite = try await c.request(.POST, "/channels/\(general)/invites", token: owner, json: "{}").decode(Invite.self)
            var raiders: [Snowflake] = []
            for n in 0..<3 {
                let (id, token) = try await c.register("raider\(n)")
                #expect(try await c.request(.POST, "/invites/\(invite.code)", token: token).status == 200)
                _ = try await c.request(.POST, "/channels/\(general)/messages", token: token, body: MessageCreateRequest(content: "raid \(n)"))
                raiders.append(id)
            }
            let (_, bystander) = try await c.register("bystander")
            #expect(try await c.request(.POST, "/invites/\(invite.code)", token: bystander).status == 200)
            #expect(try await c.request(.POST, "/guilds/\(guild.id)/bulk-ban", token: bystander, body: BulkBanRequest(userIDs: raiders)).status == 403)
            #expect(try await c.request(.PUT, "/guilds/\(guild.id)/bans/\(raiders[0])", token: owner).status == 204)

            let reply = try await c.request(.POST, "/guilds/\(guild.id)/bulk-ban", token: owner,
                                            body: BulkBanRequest(userIDs: raiders + [ownerID], deleteMessageSeconds: 3600))
            let result = try reply.decode(BulkBanResponse.self)
            #expect(result.banned_users == Array(raiders.dropFirst()).sorted(), "\(reply.text)")
            #expect(Set(result.failed_users) == [raiders[0], ownerID], "already banned, and the owner")
            let bans = try await c.request(.GET, "/guilds/\(guild.id)/bans", token: owner).decode([Ban].self)
            #expect(Set(bans.map(\.user.id)) == Set(raiders))
            let left = try await c.request(.GET, "/channels/\(general)/messages", token: owner).decode([Message].self)
            #expect(!left.contains { $0.content.hasPrefix("raid 1") || $0.content.hasPrefix("raid 2") }, "their last hour's messages went with them")

            let none = try await c.request(.POST, "/guilds/\(guild.id)/bulk-ban", token: owner, body: BulkBanRequest(userIDs: [ownerID]))
            #expect(none.status == 400 && none.json?["code"]?.intValue == 500000)
            for body in [#"{"user_ids":[]}"#, #"{"user_ids":["-1"]}"#, #"{"user_ids":["1"],"delete_message_seconds":604801}"#,
                         "{\"user_ids\":[" + (1...201).map { "\"\($0)\"" }.joined(separator: ",") + "]}"] {
                let bad = try await c.request(.POST, "/guilds/\(guild.id)/bulk-ban", token: owner, json: body)
                #expect(bad.status == 400 && bad.json?["code"]?.intValue == 50035, "\(body.prefix(60)): \(bad.text)")
            }
        }
    }
}
