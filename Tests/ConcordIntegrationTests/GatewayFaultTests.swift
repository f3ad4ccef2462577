import ConcordAuth
import ConcordCell
import ConcordGateway
import ConcordModels
import ConcordRedis
import Foundation
import Testing

/// The gateway under faults: an edge drained mid-session, the cell's Redis killed, sessions
/// that start while messages flow. Every test checks exactly which events arrive, in order.
@Suite("Gateway under faults")
struct GatewayFaultTests {
    func identify(_ token: String) -> String { GatewayFrames.identify(token) }
    func gateway(_ edgeURL: String) -> String { GatewayFrames.url(edgeURL) }
    func contents(_ client: GatewayTestClient) -> [String] { client.dispatches("MESSAGE_CREATE").compactMap { $0["d"]?["content"]?.stringValue } }
    func dispatchSeqs(_ client: GatewayTestClient) -> [Int64] { client.all.compactMap { $0["op"]?.intValue == 0 ? $0["s"]?.intValue : nil } }

    @Test func aSessionResumesOnASecondEdgeAfterTheFirstDrains() async throws {
        try await TestCluster.with(edges: 2) { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Handover")).decode(Guild.self)
            let general = guild.system_channel_id!
            let first = GatewayTestClient(url: gateway(c.edgeURLs[0]))
            first.send(identify(alice))
            let sessionID = try await first.waitDispatch("READY")["d"]?["session_id"]?.stringValue ?? ""
            try await first.waitDispatch("GUILD_CREATE")
            _ = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "before"))
            let seen = try await first.waitDispatch("MESSAGE_CREATE")
            let lastSeq = seen["s"]?.intValue ?? 0
            first.send(#"{"op":1,"d":\#(lastSeq)}"#)
            try await first.wait(for: "heartbeat ACK") { $0["op"]?.intValue == 11 }
            // Received and not acknowledged: handed over among the session's frames (by the
            // drain's shared table of bodies) and replayed from them.
            _ = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "unacknowledged"))
            try await eventually("the unacknowledged message arrived") { contents(first).contains("unacknowledged") }

            await c.drainEdges[0]()
            try await first.wait(for: "op 7 RECONNECT") { $0["op"]?.intValue == 7 }
            let code = await first.closeCode()
            #expect(code == .unknown(4000))
            // Posted through the other edge while the session has no socket at all.
            for text in ["during 1", "during 2", "during 3"] {
                let reply = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: text), edge: 1)
                #expect(reply.status == 200)
            }
            let second = GatewayTestClient(url: gateway(c.edgeURLs[1]))
            second.send(#"{"op":6,"d":{"token":"\#(alice)","session_id":"\#(sessionID)","seq":\#(lastSeq)}}"#)
            let resumed = try await second.waitDispatch("RESUMED")
            #expect(resumed["d"] == .object([:]))
            #expect(contents(second) == ["unacknowledged", "during 1", "during 2", "during 3"], "what was missed comes before RESUMED, once, in order")
            _ = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "after"), edge: 1)
            try await eventually("the live message after RESUMED") { contents(second).count == 5 }
            #expect(contents(second) == ["unacknowledged", "during 1", "during 2", "during 3", "after"])
            #expect(dispatchSeqs(second) == Array((lastSeq + 1)...(lastSeq + 6)), "one sequence across both edges")

            // The hand-over is taken once: a second RESUME of the same session is refused.
            let third = GatewayTestClient(url: gateway(c.edgeURLs[1]))
            third.send(#"{"op":6,"d":{"token":"\#(alice)","session_id":"\#(sessionID)","seq":\#(lastSeq)}}"#)
            _ = try await third.wait(for: "op 9 or a takeover") { $0["op"]?.intValue == 9 || $0["t"]?.stringValue == "RESUMED" }
            second.close()
            third.close()
        }
    }

    @Test func killingTheCellsRedisLosesNoEvent() async throws {
        let own = try OwnRedis()
        try await own.start()
        try await TestCluster.with(redisPort: own.port) { c in
            let (aliceID, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Outage")).decode(Guild.self)
            let general = guild.system_channel_id!
            let client = GatewayTestClient(url: gateway(c.edgeURL))
            client.send(identify(alice))
            try await client.waitDispatch("GUILD_CREATE")
            let claims = try #require(TokenAuthority(secret: c.secrets.tokenSecret).verify(alice))
            let caller = Caller(userID: aliceID, tokenID: claims.tokenID, isBot: false)

            await own.stop()
            // The edge cannot check revocations without that Redis, so these are written through
            // the cell directly: committed to PostgreSQL, unpublishable until Redis returns.
            for i in 0..<5 { _ = try await c.domain.createMessage(general, MessageCreateRequest(content: "outage \(i)"), caller: caller) }
            try await own.start()
            try await eventually("all 5 messages after Redis returns", timeout: .seconds(20)) { contents(client).count >= 5 }
            _ = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "after"))
            try await eventually("the message after recovery") { contents(client).count >= 6 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(contents(client) == (0..<5).map { "outage \($0)" } + ["after"], "each exactly once, in order")
            client.close()
        }
        await own.stop()
    }

    /// Found by `make soak`: a Redis restarted while messages flow (twice, as its chaos does),
    /// with one edge reaching that Redis across a link. Sessions on both edges get every
    /// message exactly once, in order.
    @Test func aRedisRestartingUnderLoadLosesNoEventOnEitherEdge() async throws {
        let own = try OwnRedis()
        try await own.start()
        try await TestCluster.with(cells: 2, edges: 2, interRegionDelay: 40, redisPort: own.port) { c in
            let (aliceID, alice) = try await c.register("alice", edge: 1)
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Restarts"), edge: 1).decode(Guild.self)
            #expect(guild.id.cell == 2)
            let general = try #require(guild.system_channel_id)
            let clients = (0..<2).map { GatewayTestClient(url: gateway(c.edgeURLs[$0])) }
            for client in clients {
                client.send(identify(alice))
                try await client.waitDispatch("GUILD_CREATE")
            }
            let claims = try #require(TokenAuthority(secret: c.secrets.tokenSecret).verify(alice))
            let caller = Caller(userID: aliceID, tokenID: claims.tokenID, isBot: false)
            var sent: [String] = []
            for round in 0..<2 {
                for i in 0..<10 {
                    let content = "round \(round) message \(i)"
                    _ = try await c.domains[1].createMessage(general, MessageCreateRequest(content: content), caller: caller)
                    sent.append(content)
                    if i == 3 { await own.stop() }
                    if i == 6 { try await own.start() }
                    try await Task.sleep(for: .milliseconds(150))
                }
                try await Task.sleep(for: .seconds(2))
            }
            for (index, client) in clients.enumerated() {
                try await eventually("edge \(index + 1)'s session got all \(sent.count)", timeout: .seconds(20)) { contents(client).count >= sent.count }
            }
            try await Task.sleep(for: .milliseconds(300))
            for client in clients {
                #expect(contents(client) == sent, "each exactly once, in order")
                client.close()
            }
        }
        await own.stop()
    }

    @Test func aSessionThatIdentifiesWhileMessagesFlowMissesNone() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Busy")).decode(Guild.self)
            let general = guild.system_channel_id!
            let total = 60
            let poster = Task {
                for i in 0..<total {
                    _ = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "m\(i)"))
                }
            }
            try await Task.sleep(for: .milliseconds(150))
            let client = GatewayTestClient(url: gateway(c.edgeURL))
            client.send(identify(alice))
            try await client.waitDispatch("READY")
            try await poster.value
            try await eventually("the last message") { contents(client).last == "m\(total - 1)" }
            try await Task.sleep(for: .milliseconds(200))
            // Whatever the session got first, from there on it got every message once, in order.
            let got = contents(client)
            let firstIndex = Int(got.first?.dropFirst() ?? "") ?? 0
            #expect(got == (firstIndex..<total).map { "m\($0)" }, "a contiguous suffix, no gap, no repeat")
            client.close()
        }
    }

}
