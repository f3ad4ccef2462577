import ConcordGateway
@testable import ConcordEdge
import ConcordModels
import ConcordRedis
import Foundation
import NIOWebSocket
import Testing

/// The gateway end to end: a WebSocket client against a running edge and cell.
@Suite("Gateway end to end")
struct GatewayTests {
    func identify(_ token: String, intents: Int = GatewayFrames.defaultIntents) -> String { GatewayFrames.identify(token, intents: intents) }
    func gatewayURL(_ c: TestCluster) -> String { GatewayFrames.url(c.edgeURL) }

    @Test func identifyReadyGuildCreateAndLiveMessages() async throws {
        try await TestCluster.with { c in
            let (aliceID, alice) = try await c.register("alice")
            let (_, bob) = try await c.register("bob")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Live")).decode(Guild.self)
            let general = guild.system_channel_id!

            let a = GatewayTestClient(url: gatewayURL(c))
            let hello = try await a.wait(for: "HELLO") { $0["op"]?.intValue == 10 }
            #expect(hello["d"]?["heartbeat_interval"]?.intValue == 41_250)
            a.send(identify(alice))
            let ready = try await a.waitDispatch("READY")
            #expect(ready["s"]?.intValue == 1)
            #expect(ready["d"]?["user"]?["id"]?.stringValue == aliceID.description)
            #expect(ready["d"]?["session_id"]?.stringValue?.isEmpty == false)
            #expect(ready["d"]?["resume_gateway_url"]?.stringValue?.hasPrefix("ws://") == true)
            #expect(ready["d"]?["guilds"]?.arrayValue?.first?["unavailable"] == .bool(true))
            let create = try await a.waitDispatch("GUILD_CREATE")
            #expect(create["d"]?["id"]?.stringValue == guild.id.description)
            #expect(create["d"]?["channels"]?.arrayValue?.contains { $0["id"]?.stringValue == general.description } == true)
            #expect(create["d"]?["members"]?.arrayValue?.first?["flags"]?.intValue == 0)
            a.send(#"{"op":1,"d":2}"#)
            try await a.wait(for: "HEARTBEAT_ACK") { $0["op"]?.intValue == 11 }

            // Bob is in no workspace: he hears nothing of this one.
            let b = GatewayTestClient(url: gatewayURL(c))
            b.send(identify(bob))
            let bobReady = try await b.waitDispatch("READY")
            #expect(bobReady["d"]?["guilds"]?.arrayValue?.isEmpty == true)

            let posted = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "live!"))
                .decode(Message.self)
            let live = try await a.waitDispatch("MESSAGE_CREATE")
            #expect(live["d"]?["id"]?.stringValue == posted.id.description)
            #expect(live["d"]?["content"]?.stringValue == "live!")
            #expect(live["d"]?["guild_id"]?.stringValue == guild.id.description)
            #expect(live["d"]?["mentions"]?.arrayValue != nil && live["d"]?["components"]?.arrayValue != nil)
            try await Task.sleep(for: .milliseconds(300))
            #expect(b.dispatches("MESSAGE_CREATE").isEmpty)

            // Sequence numbers are consecutive.
            let seqs = a.all.compactMap { $0["op"]?.intValue == 0 ? $0["s"]?.intValue : nil }
            #expect(seqs == Array(1...Int64(seqs.count)))
            a.close()
            b.close()
        }
    }

    @Test func resumeReplaysExactlyWhatWasMissed() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Resume")).decode(Guild.self)
            let general = guild.system_channel_id!
            let first = GatewayTestClient(url: gatewayURL(c))
            first.send(identify(alice))
            let sessionID = try await first.waitDispatch("READY")["d"]?["session_id"]?.stringValue ?? ""
            try await first.waitDispatch("GUILD_CREATE")
            _ = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "seen"))
            let seen = try await first.waitDispatch("MESSAGE_CREATE")
            let lastSeq = seen["s"]?.intValue ?? 0
            first.close()
            _ = try? await first.closed.value

            for text in ["missed 1", "missed 2"] {
                _ = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: text))
            }
            let second = GatewayTestClient(url: gatewayURL(c))
            second.send(#"{"op":6,"d":{"token":"\#(alice)","session_id":"\#(sessionID)","seq":\#(lastSeq)}}"#)
            let resumed = try await second.waitDispatch("RESUMED")
            #expect(resumed["d"] == .object([:]), "RESUMED's d is an object")
            // Whatever was missed comes exactly once and in order: replayed before RESUMED if the
            // edge had it already, live after it otherwise.
            try await eventually("both missed messages") { second.dispatches("MESSAGE_CREATE").count >= 2 }
            let replayed = second.dispatches("MESSAGE_CREATE")
            #expect(replayed.map { $0["d"]?["content"]?.stringValue } == ["missed 1", "missed 2"])
            let seqs = second.all.compactMap { $0["op"]?.intValue == 0 ? $0["s"]?.intValue : nil }
            #expect(seqs == Array((lastSeq + 1)...(lastSeq + 3)), "one sequence across the two sockets, no gap, no repeat")

            let stale = GatewayTestClient(url: gatewayURL(c))
            stale.send(#"{"op":6,"d":{"token":"\#(alice)","session_id":"nope","seq":1}}"#)
            let invalid = try await stale.wait(for: "op 9") { $0["op"]?.intValue == 9 }
            #expect(invalid["d"] == .bool(false))
            // A library that lost its session before READY resumes with a null session id (py-cord
            // does): op 9 too, and the same socket may then IDENTIFY.
            let lost = GatewayTestClient(url: gatewayURL(c))
            lost.send(#"{"op":6,"d":{"token":"\#(alice)","session_id":null,"seq":null}}"#)
            let refused = try await lost.wait(for: "op 9") { $0["op"]?.intValue == 9 }
            #expect(refused["d"] == .bool(false))
            lost.send(identify(alice))
            try await lost.waitDispatch("READY")
            second.close()
            stale.close()
            lost.close()
        }
    }

    /// As on Discord: closing with 1000 or 1001 ends the session (a RESUME gets op 9 and the
    /// edge keeps nothing of it); any other code leaves it resumable.
    @Test(arguments: [1000, 1001])
    func aClientClosingNormallyEndsItsSession(code: Int) async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            _ = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Leaving")).decode(Guild.self)
            func session() async throws -> (GatewayTestClient, String) {
                let client = GatewayTestClient(url: gatewayURL(c))
                client.send(identify(alice))
                let id = try await client.waitDispatch("READY")["d"]?["session_id"]?.stringValue ?? ""
                try await client.waitDispatch("GUILD_CREATE")
                return (client, id)
            }
            let (leaving, left) = try await session()
            let (dropping, dropped) = try await session()
            leaving.close(WebSocketErrorCode(codeNumber: code))
            dropping.close()
            _ = try? await leaving.closed.value
            _ = try? await dropping.closed.value

            let resumeLeft = GatewayTestClient(url: gatewayURL(c))
            resumeLeft.send(#"{"op":6,"d":{"token":"\#(alice)","session_id":"\#(left)","seq":2}}"#)
            let invalid = try await resumeLeft.wait(for: "op 9") { $0["op"]?.intValue == 9 }
            #expect(invalid["d"] == .bool(false))
            let resumeDropped = GatewayTestClient(url: gatewayURL(c))
            resumeDropped.send(#"{"op":6,"d":{"token":"\#(alice)","session_id":"\#(dropped)","seq":2}}"#)
            try await resumeDropped.waitDispatch("RESUMED")
            #expect(resumeDropped.all.allSatisfy { $0["op"]?.intValue != 9 })
            resumeLeft.close()
            resumeDropped.close()
        }
    }

    /// A close the edge began (here 4008: too many commands) leaves the session resumable, as on
    /// Discord. (Clients such as aiohttp answer any close with 1000; the edge closes the socket
    /// right after its close frame, and an answer that still reaches it does not end the session.)
    /// And the edge detaches it as it does a dropped one: it ends when the window does, and its
    /// user no longer counts as online here (it stayed attached to its dead socket before).
    @Test func aClientAnsweringTheEdgesCloseKeepsItsSession() async throws {
        try await TestCluster.with { c in
            let (aliceID, alice) = try await c.register("alice")
            let client = GatewayTestClient(url: gatewayURL(c))
            client.send(identify(alice))
            let session = try await client.waitDispatch("READY")["d"]?["session_id"]?.stringValue ?? ""
            let hub = c.edgeAPIs[0].gateway
            // READY goes out before the edge counts the user present, so this waits for it.
            try await eventually("alice counted present") { hub.presence.state(of: aliceID) != nil }
            for _ in 0..<130 { client.send(#"{"op":1,"d":1}"#) }
            #expect(await client.closeCode() == .unknown(4008))
            try await eventually("the closed session detached") {
                hub.resumable(session)?.state.withLock { $0.detachedUntil != nil && $0.output == nil } == true
            }
            // The edge stops counting the user just after it detaches the session.
            try await eventually("no session of alice's attached") { hub.presence.state(of: aliceID) == nil }

            let resumed = GatewayTestClient(url: gatewayURL(c))
            resumed.send(#"{"op":6,"d":{"token":"\#(alice)","session_id":"\#(session)","seq":1}}"#)
            try await resumed.waitDispatch("RESUMED")
            #expect(resumed.all.allSatisfy { $0["op"]?.intValue != 9 })
            resumed.close()
        }
    }

    @Test func badTokensAndVersionsAreClosedWithDiscordsCodes() async throws {
        try await TestCluster.with { c in
            let bad = GatewayTestClient(url: gatewayURL(c))
            bad.send(identify("not-a-token"))
            let badCode = await bad.closeCode()
            #expect(badCode == .unknown(4004))
            let version = GatewayTestClient(url: c.edgeURL.replacingOccurrences(of: "http://", with: "ws://") + "/gateway?v=3&encoding=json")
            let versionCode = await version.closeCode()
            #expect(versionCode == .unknown(4012))
            let etf = GatewayTestClient(url: c.edgeURL.replacingOccurrences(of: "http://", with: "ws://") + "/gateway?v=10&encoding=etf")
            let etfCode = await etf.closeCode()
            #expect(etfCode == .unknown(4002))
            let garbage = GatewayTestClient(url: gatewayURL(c))
            garbage.send("this is not json")
            let garbageCode = await garbage.closeCode()
            #expect(garbageCode == .unknown(4002))
        }
    }

    @Test func eventsPublishedWhileTheEdgesSubscriptionIsDownAreReadBack() async throws {
        let own = try OwnRedis()
        try await own.start()
        try await TestCluster.with(redisPort: own.port) { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Gap")).decode(Guild.self)
            let general = guild.system_channel_id!
            let client = GatewayTestClient(url: gatewayURL(c))
            client.send(identify(alice))
            try await client.waitDispatch("GUILD_CREATE")
            let redis = RedisClient(host: "127.0.0.1", port: own.port)
            // Cut the edge's pub/sub connection, then publish while it reconnects.
            _ = try await redis.send("CLIENT", "KILL", "TYPE", "pubsub")
            for i in 0..<5 {
                _ = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "gap \(i)"))
            }
            try await eventually("all 5 messages") { client.dispatches("MESSAGE_CREATE").count >= 5 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(client.dispatches("MESSAGE_CREATE").map { $0["d"]?["content"]?.stringValue } == (0..<5).map { "gap \($0)" },
                    "each exactly once, in order")
            await redis.close()
            client.close()
        }
        await own.stop()
    }

    @Test func botsWithoutMessageContentAndMemberChunks() async throws {
        try await TestCluster.with { c in
            let (ownerID, owner) = try await c.register("owner")
            let guild = try await c.request(.POST, "/guilds", token: owner, body: GuildCreateRequest(name: "Bots")).decode(Guild.self)
            let (bot, botToken) = try await c.domain.createAccount(username: "plainbot", password: nil, bot: true, ownerID: ownerID)
            _ = try await c.domain.addMember(guild.id, userID: bot.id)
            let client = GatewayTestClient(url: gatewayURL(c))
            client.send(identify(botToken, intents: 1 | 1 << 9))  // no MESSAGE_CONTENT
            #expect(try await client.waitDispatch("READY")["d"]?["application"]?["id"]?.stringValue == bot.id.description)
            try await client.waitDispatch("GUILD_CREATE")
            let general = guild.system_channel_id!
            _ = try await c.request(.POST, "/channels/\(general)/messages", token: owner, body: MessageCreateRequest(content: "hidden"))
            _ = try await c.request(.POST, "/channels/\(general)/messages", token: owner, body: MessageCreateRequest(content: "hi <@\(bot.id)>"))
            try await eventually("two messages") { client.dispatches("MESSAGE_CREATE").count == 2 }
            #expect(client.dispatches("MESSAGE_CREATE").map { $0["d"]?["content"]?.stringValue } == ["", "hi <@\(bot.id)>"])

            client.send(#"{"op":8,"d":{"guild_id":"\#(guild.id)","query":"","limit":0,"nonce":"n1"}}"#)
            let chunk = try await client.waitDispatch("GUILD_MEMBERS_CHUNK")
            #expect(chunk["d"]?["nonce"]?.stringValue == "n1")
            #expect(Set(chunk["d"]?["members"]?.arrayValue?.compactMap { $0["user"]?["id"]?.stringValue } ?? []) == [ownerID.description, bot.id.description])
            client.close()
        }
    }

    @Test(arguments: GatewayCompression.allCases)
    func compressedStreamsCarryEveryFrame(_ compression: GatewayCompression) async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Zipped")).decode(Guild.self)
            let client = GatewayTestClient(url: gatewayURL(c) + "&compress=\(compression.rawValue)", compression: compression)
            client.send(identify(alice))
            try await client.waitDispatch("GUILD_CREATE")
            let frames = client.all.count
            #expect(frames >= 3 && client.inbox.binaryFrames.load(ordering: .relaxed) >= frames, "every frame came compressed")

            // Quiet for the tests' second (`gateway_compression_idle_seconds`), a zlib socket's
            // context is freed; the next frames come from a new one, on the same stream.
            let gateway = c.edgeAPIs[0].gateway
            #expect(gateway.compressionContexts == 1)
            if compression.canBeCarriedOn {
                try await eventually("the idle socket's context freed") { gateway.compressionContexts == 0 }
                // A heartbeat's acknowledgement goes stored: the socket stays without a context.
                client.send(#"{"op":1,"d":null}"#)
                try await client.wait(for: "op 11") { $0["op"]?.intValue == 11 }
                #expect(gateway.compressionContexts == 0)
            } else {
                try await Task.sleep(for: .seconds(2.5))
                #expect(gateway.compressionContexts == 1, "a zstd stream keeps its context")
            }
            let channel = try #require(guild.system_channel_id)
            for n in 1...3 {
                _ = try await c.request(.POST, "/channels/\(channel)/messages", token: alice, body: MessageCreateRequest(content: "after the pause \(n)"))
            }
            try await eventually("three messages") { client.dispatches("MESSAGE_CREATE").count == 3 }
            #expect(client.dispatches("MESSAGE_CREATE").map { $0["d"]?["content"]?.stringValue } == (1...3).map { "after the pause \($0)" })
            #expect(gateway.compressionContexts == 1)
            client.close()
        }
    }

    @Test func drainingAnEdgeTellsSessionsToReconnect() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let client = GatewayTestClient(url: gatewayURL(c))
            client.send(identify(alice))
            try await client.waitDispatch("READY")
            await c.drainEdge()
            try await client.wait(for: "op 7 RECONNECT") { $0["op"]?.intValue == 7 }
            let code = await client.closeCode()
            #expect(code == .unknown(4000))
        }
    }
}
