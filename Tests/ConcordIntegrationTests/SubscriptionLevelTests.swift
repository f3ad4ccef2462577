import ConcordAuth
import ConcordModels
import Foundation
import Testing

/// Op 40 end to end: in a large workspace a session that asked for lighter levels gets compact
/// events instead of messages; in a small one, and without op 40, everything as Discord sends it.
@Suite("Subscription levels end to end")
struct SubscriptionLevelEndToEndTests {
    @Test func largeWorkspacesGetCompactEventsAtLighterLevels() async throws {
        try await TestCluster.with { c in
            let (aliceID, alice) = try await c.register("alice")
            let (bobID, bob) = try await c.register("bob")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Large")).decode(Guild.self)
            let general = guild.system_channel_id!
            let quiet = try await c.request(.POST, "/guilds/\(guild.id)/channels", token: alice, body: ChannelCreateRequest(name: "quiet")).decode(GuildChannel.self).id
            let busy = try await c.request(.POST, "/guilds/\(guild.id)/channels", token: alice, body: ChannelCreateRequest(name: "busy")).decode(GuildChannel.self).id
            _ = try await c.domain.addMember(guild.id, userID: bobID)
            // Past the large threshold (250) with bulk-made members.
            let authority = TokenAuthority(secret: c.secrets.tokenSecret)
            let ids = SnowflakeGenerator(cell: 1, process: Snowflake.maxProcessID - 1)
            let accounts = (0..<260).map { n -> (user: Snowflake, username: String, token: Snowflake, fingerprint: String) in
                let (user, token) = (ids.next(), ids.next())
                return (user, "member\(n)", token, TokenAuthority.fingerprint(authority.mint(userID: user, tokenID: token, kind: .bot)))
            }
            try await c.domain.db.seedMembers(workspaceID: guild.id, ownerID: aliceID, tokenKind: 2, accounts: accounts)

            let plain = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            plain.send(GatewayFrames.identify(bob))
            let light = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            light.send(GatewayFrames.identify(bob))
            let created = try await light.waitDispatch("GUILD_CREATE")
            #expect(created["d"]?["large"] == .bool(true))
            try await plain.waitDispatch("GUILD_CREATE")
            light.send(#"{"op":40,"d":{"guild_id":"\#(guild.id)","default":"flag","channels":{"\#(general)":"full","\#(busy)":"counts"}}}"#)
            try await Task.sleep(for: .milliseconds(200))

            func post(_ channel: Snowflake, _ text: String) async throws -> Message {
                try await c.request(.POST, "/channels/\(channel)/messages", token: alice, body: MessageCreateRequest(content: text)).decode(Message.self)
            }
            _ = try await post(general, "on screen")
            _ = try await post(busy, "busy one <@\(bobID)>")
            _ = try await post(busy, "busy two")
            let firstQuiet = try await post(quiet, "quiet one")
            _ = try await post(quiet, "quiet two")
            try await eventually("the plain session got all five") { plain.dispatches("MESSAGE_CREATE").count == 5 }
            try await eventually("the light session got its compact events") {
                light.dispatches("CHANNEL_UNREAD_UPDATE").count == 2 && light.dispatches("CHANNEL_UNREAD").count == 1
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(light.dispatches("MESSAGE_CREATE").compactMap { $0["d"]?["content"]?.stringValue } == ["on screen"], "full only where asked")
            #expect(light.dispatches("CHANNEL_UNREAD_UPDATE").compactMap { $0["d"]?["mention_delta"]?.intValue } == [1, 0])
            #expect(light.dispatches("CHANNEL_UNREAD").first?["d"]?["message_id"]?.stringValue == firstQuiet.id.description,
                    "the flag names the first unread message and is sent once")

            // Reading #quiet re-arms its flag.
            _ = try await c.request(.POST, "/channels/\(quiet)/messages/\(firstQuiet.id)/ack", token: bob, json: "{}")
            try await light.waitDispatch("MESSAGE_ACK")
            _ = try await post(quiet, "quiet three")
            try await eventually("a new flag after the read") { light.dispatches("CHANNEL_UNREAD").count == 2 }
            plain.close()
            light.close()
        }
    }
}
