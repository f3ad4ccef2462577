import ConcordCell
import ConcordModels
import ConcordRelay
import ConcordStorage
import Foundation
import Testing

/// DMs between people homed in different cells: one channel whoever opens it, homed in the cell
/// of the lower user id; both receive its events through their own edges; the other cell keeps
/// a replica through the relay (equal to the home after a relay outage) and serves reads from it;
/// no one else can read or write it.
@Suite("Direct messages")
struct DirectMessageTests {
    /// GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT
    static let dmIntents = 1 | 1 << 9 | 1 << 12 | 1 << 15

    @Test func aDMBetweenTwoCellsIsOneChannelWithAReplicaOnTheOtherSide() async throws {
        try await TestCluster.with(cells: 2, edges: 2) { c in
            let (aliceID, alice) = try await c.register("alice", edge: 0)
            let (bobID, bob) = try await c.register("bob", edge: 1)
            let (carolID, carol) = try await c.register("carol", edge: 0)
            #expect(aliceID.cell == 1 && bobID.cell == 2)
            let home = DMChannel.homeCell(aliceID, bobID)
            let replicaIndex = home == 1 ? 1 : 0
            let (homeDB, replicaDB) = (c.domains[home - 1].db, c.domains[replicaIndex].db)
            let relay = CellTests.RelayRunner {
                Relay(config: c.config, destination: c.config.cells[replicaIndex], internalSecret: c.secrets.internalSecret,
                      pollInterval: .milliseconds(20), logger: TestServers.logger)
            }
            relay.start()

            let bobSession = GatewayTestClient(url: GatewayFrames.url(c.edgeURLs[1]))
            bobSession.send(GatewayFrames.identify(bob, intents: Self.dmIntents))
            try await bobSession.waitDispatch("READY")
            // A session without DIRECT_MESSAGES gets none of the DM's messages.
            let bobWithoutDMs = GatewayTestClient(url: GatewayFrames.url(c.edgeURLs[0]))
            bobWithoutDMs.send(GatewayFrames.identify(bob))
            try await bobWithoutDMs.waitDispatch("READY")

            // Opened from either side, through either edge: the same channel, each seeing the other.
            let fromBob = try await c.request(.POST, "/users/@me/channels", token: bob, body: DMCreateRequest(recipientID: aliceID), edge: 1)
            #expect(fromBob.status == 200, "\(fromBob.text)")
            let dm = try fromBob.decode(DMChannel.self)
            #expect(dm.type == 1 && dm.id.cell == home && dm.recipients.map(\.id) == [aliceID])
            let fromAlice = try await c.request(.POST, "/users/@me/channels", token: alice, body: DMCreateRequest(recipientID: bobID)).decode(DMChannel.self)
            #expect(fromAlice.id == dm.id && fromAlice.recipients.map(\.username) == ["bob"])
            let created = try await bobSession.waitDispatch("CHANNEL_CREATE")
            #expect(created["d"]?["id"]?.stringValue == dm.id.description && created["d"]?["type"]?.intValue == 1)

            // Bad requests get Discord's errors and create nothing.
            let toSelf = try await c.request(.POST, "/users/@me/channels", token: alice, body: DMCreateRequest(recipientID: aliceID))
            #expect(toSelf.status == 400 && toSelf.json?["code"]?.intValue == 50007, "\(toSelf.text)")
            let toNobody = try await c.request(.POST, "/users/@me/channels", token: alice, json: #"{"recipient_id":"\#(bobID.int64 + 1)"}"#)
            #expect(toNobody.status == 404 && toNobody.json?["code"]?.intValue == 10013, "\(toNobody.text)")
            let malformed = try await c.request(.POST, "/users/@me/channels", token: alice, json: #"{"recipient_id":"x"}"#)
            #expect(malformed.status == 400, "\(malformed.text)")

            // A DM within one cell is simply local: no replica anywhere.
            let local = try await c.request(.POST, "/users/@me/channels", token: carol, body: DMCreateRequest(recipientID: aliceID)).decode(DMChannel.self)
            #expect(local.id.cell == 1 && local.recipients.map(\.id) == [aliceID])
            #expect(try await c.request(.POST, "/channels/\(local.id)/messages", token: carol, body: MessageCreateRequest(content: "hi alice")).status == 200)
            let read = try await c.request(.GET, "/channels/\(local.id)/messages", token: alice, edge: 1).decode([Message].self)
            #expect(read.map(\.content) == ["hi alice"] && read[0].author.id == carolID)
            #expect(try await c.domains[1].db.dm(id: local.id) == nil)

            // Messages both ways, each through the writer's own edge; events reach the other side.
            var sent: [String] = []
            for (i, (token, edge)) in [(alice, 0), (bob, 1), (alice, 0), (bob, 1)].enumerated() {
                let reply = try await c.request(.POST, "/channels/\(dm.id)/messages", token: token, body: MessageCreateRequest(content: "dm \(i)"), edge: edge)
                #expect(reply.status == 200, "\(reply.text)")
                #expect((reply.json?["guild_id"] ?? .null) == .null, "a DM message belongs to no workspace")
                sent.append("dm \(i)")
            }
            try await eventually("Bob's session has every DM message") { bobSession.dispatches("MESSAGE_CREATE").count == 4 }
            #expect(bobSession.dispatches("MESSAGE_CREATE").compactMap { $0["d"]?["content"]?.stringValue } == sent, "once each, in order")
            #expect(bobWithoutDMs.dispatches("MESSAGE_CREATE").isEmpty, "DIRECT_MESSAGES gates a DM's messages")

            // The replica holds what the home holds; the other side's cell answers reads from it.
            try await eventually("the replica equals the home", timeout: .seconds(30)) {
                let (a, b) = (try await homeDB.channelDigest(dm.id), try await replicaDB.channelDigest(dm.id))
                return a.count == 4 && a == b
            }
            // Unread counts come from the DM's home, through either edge: Alice has not read Bob's last message.
            try await eventually("Alice's read state counts Bob's last message") {
                let states = try await c.request(.GET, "/users/@me/read-states", token: alice, edge: 1).decode([ReadStateEntry].self)
                return states.first { $0.id == dm.id }?.unread_count == 1
            }
            let replicaSide = c.domains[replicaIndex]
            let replicaUser = home == 1 ? bobID : aliceID
            let page = try await replicaSide.messages(dm.id, caller: Caller(userID: replicaUser, tokenID: Snowflake(1), isBot: false), page: .latest, limit: 50)
            #expect(try WireJSON.decode([Message].self, from: Data(page.utf8)).map(\.content) == sent.reversed())
            for edge in [0, 1] {
                let history = try await c.request(.GET, "/channels/\(dm.id)/messages", token: bob, edge: edge).decode([Message].self)
                #expect(history.map(\.content) == sent.reversed(), "edge \(edge)")
                let listed = try await c.request(.GET, "/users/@me/channels", token: bob, edge: edge).decode([DMChannel].self)
                #expect(listed.map(\.id) == [dm.id] && listed[0].recipients.map(\.id) == [aliceID], "edge \(edge)")
                let channel = try await c.request(.GET, "/channels/\(dm.id)", token: bob, edge: edge).decode(DMChannel.self)
                #expect(channel.recipients.map(\.id) == [aliceID])
            }

            // No one else reads or writes it.
            let peek = try await c.request(.GET, "/channels/\(dm.id)/messages", token: carol)
            #expect(peek.status == 403 && peek.json?["code"]?.intValue == 50001, "\(peek.text)")
            let intrude = try await c.request(.POST, "/channels/\(dm.id)/messages", token: carol, body: MessageCreateRequest(content: "hi"))
            #expect(intrude.status == 403, "\(intrude.text)")
            let rename = try await c.request(.PATCH, "/channels/\(dm.id)", token: alice, json: #"{"name":"ours"}"#)
            #expect(rename.status == 403, "no one manages a DM: \(rename.text)")

            // Edits and deletes come from the home; the replica follows. Through a stopped relay,
            // it catches up with nothing lost or repeated.
            let first = try await c.request(.GET, "/channels/\(dm.id)/messages?limit=1", token: alice).decode([Message].self)[0]
            await relay.stop()
            let edited = try await c.request(.PATCH, "/channels/\(dm.id)/messages/\(first.id)", token: bob, json: #"{"content":"dm 3 (edited)"}"#, edge: 1)
            #expect(edited.status == 200, "\(edited.text)")
            for i in 4..<9 {
                _ = try await c.request(.POST, "/channels/\(dm.id)/messages", token: alice, body: MessageCreateRequest(content: "dm \(i)"))
            }
            let oldest = try await c.request(.GET, "/channels/\(dm.id)/messages?limit=50", token: alice).decode([Message].self).last!
            let deleted = try await c.request(.DELETE, "/channels/\(dm.id)/messages/\(oldest.id)", token: alice)
            #expect(deleted.status == 204)
            #expect(try await replicaDB.channelDigest(dm.id).count == 4, "the replica waits while the relay is stopped")
            relay.start()
            try await eventually("the replica catches up") {
                let (a, b) = (try await homeDB.channelDigest(dm.id), try await replicaDB.channelDigest(dm.id))
                return a.count == 8 && a == b
            }
            try await eventually("Bob's session has the rest") { bobSession.dispatches("MESSAGE_CREATE").count == 9 }
            #expect(bobSession.dispatches("MESSAGE_UPDATE").count == 1 && bobSession.dispatches("MESSAGE_DELETE").count == 1)

            // A new session lists the DM in READY.
            let later = GatewayTestClient(url: GatewayFrames.url(c.edgeURLs[1]))
            later.send(GatewayFrames.identify(bob, intents: Self.dmIntents))
            let ready = try await later.waitDispatch("READY")
            #expect(ready["d"]?["private_channels"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [dm.id.description])
            await relay.stop()
            for client in [bobSession, bobWithoutDMs, later] { client.close() }
        }
    }
}
