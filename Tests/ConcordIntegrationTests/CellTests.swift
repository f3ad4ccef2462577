import AsyncHTTPClient
import ConcordCell
import ConcordModels
import ConcordRelay
import ConcordStorage
import Foundation
import NIOCore
import Logging
import ServiceLifecycle
import Testing

/// Two cells in two regions, an edge in each: a user homed in one cell joins, reads and writes a
/// workspace homed in the other through either edge, and their gateway session (on any edge)
/// carries workspaces of both cells.
@Suite("Cells and regions")
struct CellTests {
    @Test func aWorkspaceHomedInOneCellServesAUserHomedInAnother() async throws {
        try await TestCluster.with(cells: 2, edges: 2) { c in
            // Edge 0 is in region "us" (cell 1), edge 1 in "eu" (cell 2): people are homed where they sign up.
            let (aliceID, alice) = try await c.register("alice", edge: 0)
            let (bobID, bob) = try await c.register("bob", edge: 1)
            #expect(aliceID.cell == 1 && bobID.cell == 2)
            // Bob logs in at the us edge too: his cell is found by his password.
            let login = try await c.request(.POST, "/auth/login", json: #"{"login":"bob","password":"correct horse battery"}"#)
            #expect(login.status == 200 && login.json?["user_id"]?.stringValue == bobID.description, "\(login.text)")
            let wrong = try await c.request(.POST, "/auth/login", json: #"{"login":"bob","password":"not his password"}"#)
            #expect(wrong.status == 400 && wrong.text.contains("Login or password is invalid."))
            let home = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Alice's")).decode(Guild.self)
            let away = try await c.request(.POST, "/guilds", token: bob, body: GuildCreateRequest(name: "Bob's"), edge: 1).decode(Guild.self)
            #expect(home.id.cell == 1 && away.id.cell == 2, "a workspace is homed in its creator's cell")
            let general = try #require(away.system_channel_id)

            // Alice is online at the us edge when she joins Bob's workspace through the eu edge.
            let session = GatewayTestClient(url: GatewayFrames.url(c.edgeURLs[0]))
            session.send(GatewayFrames.identify(alice))
            let first = try await session.waitDispatch("GUILD_CREATE")
            #expect(first["d"]?["id"]?.stringValue == home.id.description)
            let invite = try await c.request(.POST, "/channels/\(general)/invites", token: bob, json: "{}", edge: 1).decode(Invite.self)
            let joined = try await c.request(.POST, "/invites/\(invite.code)", token: alice, edge: 1)
            #expect(joined.status == 200, "joining copies Alice's profile to cell 2 first: \(joined.text)")
            #expect(try await c.domains[1].db.user(id: aliceID)?.username == "alice")
            _ = try await session.waitDispatch("GUILD_CREATE") { $0["d"]?["id"]?.stringValue == away.id.description }

            // A channel of Bob's cell that Alice's cell holds no replica of: straight to its home.
            try await Self.expectOneHop(c, edge: 0, token: alice, channel: general)

            // Bob, at the eu edge, and Alice, at the us edge, see each other's messages.
            let bobSession = GatewayTestClient(url: GatewayFrames.url(c.edgeURLs[1]))
            bobSession.send(GatewayFrames.identify(bob))
            try await bobSession.waitDispatch("GUILD_CREATE")
            let posted = try await c.request(.POST, "/channels/\(general)/messages", token: alice,
                                             body: MessageCreateRequest(content: "hello from us")).decode(Message.self)
            #expect(posted.id.cell == 2, "the message is written in its channel's cell")
            let seen = try await bobSession.waitDispatch("MESSAGE_CREATE")
            #expect(seen["d"]?["author"]?["username"]?.stringValue == "alice")
            _ = try await c.request(.POST, "/channels/\(general)/messages", token: bob, body: MessageCreateRequest(content: "hi from eu"), edge: 1)
            _ = try await session.waitDispatch("MESSAGE_CREATE") { $0["d"]?["content"]?.stringValue == "hi from eu" }

            // Lists about Alice span both cells, through either edge.
            for edge in [0, 1] {
                let guilds = try await c.request(.GET, "/users/@me/guilds", token: alice, edge: edge).decode([PartialGuild].self)
                #expect(Set(guilds.map(\.id)) == [home.id, away.id], "edge \(edge)")
                let states = try await c.request(.GET, "/users/@me/read-states", token: alice, edge: edge).decode([ReadStateEntry].self)
                #expect(states.contains { $0.id == general } && states.contains { $0.id == home.system_channel_id })
            }
            let history = try await c.request(.GET, "/channels/\(general)/messages", token: alice).decode([Message].self)
            #expect(history.map(\.content).prefix(2) == ["hi from eu", "hello from us"])

            // A fresh IDENTIFY on the eu edge gathers both cells' workspaces into one READY.
            let again = GatewayTestClient(url: GatewayFrames.url(c.edgeURLs[1]))
            again.send(GatewayFrames.identify(alice))
            let ready = try await again.waitDispatch("READY")
            let ids = Set(ready["d"]?["guilds"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? [])
            #expect(ids == [home.id.description, away.id.description])
            #expect(ready["d"]?["user"]?["username"]?.stringValue == "alice")
            let unread = ready["d"]?["read_state"]?["entries"]?.arrayValue?.first { $0["id"]?.stringValue == general.description }
            #expect(unread?["unread_count"]?.intValue == 1, "Bob's reply is unread for Alice, counted in cell 2")
            for client in [session, bobSession, again] { client.close() }
        }
    }

    /// A relay into one cell, started and stopped at will.
    final class RelayRunner: @unchecked Sendable {
        // Only the test's own task starts and stops it, one call at a time.
        var running: (ServiceGroup, Task<Void, any Error>)?
        let make: () -> Relay
        init(_ make: @escaping () -> Relay) { self.make = make }
        func start() {
            let group = ServiceGroup(services: [make()], gracefulShutdownSignals: [], logger: TestServers.logger)
            running = (group, Task { try await group.run() })
        }
        func stop() async {
            guard let (group, task) = running else { return }
            await group.triggerGracefulShutdown()
            _ = await task.result
            running = nil
        }
    }

    /// After a first request (which may ask the caller's cell, then the channel's home), the edge
    /// sends each request for the channel to the one cell that serves it.
    static func expectOneHop(_ c: TestCluster, edge: Int, token: String, channel: Snowflake) async throws {
        func cellCalls() -> Double { ObservabilityTests.sample(c.edgeAPIs[edge].metrics.scrape(), "concord_edge_cell_calls_total") ?? 0 }
        #expect(try await c.request(.GET, "/channels/\(channel)/messages", token: token, edge: edge).status == 200)
        let before = cellCalls()
        for _ in 0..<5 { #expect(try await c.request(.GET, "/channels/\(channel)/messages", token: token, edge: edge).status == 200) }
        #expect(cellCalls() - before == 5, "edge \(edge): \(cellCalls() - before) cell calls for 5 requests")
    }

    /// A channel of a workspace in cell 1 shared into a workspace in cell 2 (regions joined by a
    /// link): the relay keeps the replica equal to the home (message count and content digest)
    /// through a stopped relay, the home cut off, the destination's database down, a Redis outage
    /// and a replay; members of the other workspace read it, write in it and get its events.
    @Test func aSharedChannelStaysEqualOnBothSidesThroughFaults() async throws {
        let own = try OwnRedis()
        try await own.start()
        try await TestCluster.with(cells: 2, edges: 2, interRegionDelay: 5, redisPort: own.port) { c in
            let (_, alice) = try await c.register("alice", edge: 0)
            let (_, bob) = try await c.register("bob", edge: 1)
            let home = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Home")).decode(Guild.self)
            let away = try await c.request(.POST, "/guilds", token: bob, body: GuildCreateRequest(name: "Away"), edge: 1).decode(Guild.self)
            let shared = try await c.request(.POST, "/guilds/\(home.id)/channels", token: alice, json: #"{"name":"connect"}"#).decode(GuildChannel.self)
            var posted = 0
            func post(_ count: Int) async throws {
                for _ in 0..<count {
                    let reply = try await c.request(.POST, "/channels/\(shared.id)/messages", token: alice, body: MessageCreateRequest(content: "m\(posted)"))
                    #expect(reply.status == 200)
                    posted += 1
                }
            }
            try await post(5)
            // `concordctl channel share`, the operator's command, as a process.
            let share = try await c.concordctl(["channel", "share", shared.id.description, "--into", away.id.description, "--json"])
            #expect(share.status == 0, "\(share.log)")
            // JSON lines: the history's copy as it goes, then what was shared.
            let facts = share.log.split(separator: "\n").compactMap { try? WireJSON.decode(JSONValue.self, from: Data($0.utf8)) }
            #expect(facts.contains { $0["progress"]?.stringValue == "copying history" && $0["done"]?.intValue == 5 }, "\(share.log)")
            #expect(facts.last?["copied_messages"]?.intValue == 5)

            let (homeDB, replicaDB) = (c.domains[0].db, c.domains[1].db)
            func equal() async throws -> Bool {
                let (a, b) = (try await homeDB.channelDigest(shared.id), try await replicaDB.channelDigest(shared.id))
                return a.count == posted && a == b
            }
            #expect(try await replicaDB.channelDigest(shared.id).count == 5, "the share copies the history so far")

            let relay = RelayRunner { Relay(config: c.config, destination: c.config.cells[1], internalSecret: c.secrets.internalSecret,
                                            pollInterval: .milliseconds(20), logger: TestServers.logger) }
            relay.start()
            let bobSession = GatewayTestClient(url: GatewayFrames.url(c.edgeURLs[1]))
            bobSession.send(GatewayFrames.identify(bob))
            let guildCreate = try await bobSession.waitDispatch("GUILD_CREATE")
            #expect(guildCreate["d"]?["channels"]?.arrayValue?.contains { $0["id"]?.stringValue == shared.id.description } == true,
                    "the shared channel is a channel of Bob's workspace")
            try await post(10)
            try await eventually("the replica caught up") { try await equal() }
            try await eventually("Bob's session got them") { bobSession.dispatches("MESSAGE_CREATE").count == 10 }
            try await Task.sleep(for: .milliseconds(100))
            #expect(bobSession.dispatches("MESSAGE_CREATE").count == 10, "each once")
            #expect(bobSession.dispatches("MESSAGE_CREATE").allSatisfy { $0["d"]?["guild_id"]?.stringValue == away.id.description })

            // Bob is not a member of Alice's workspace: he reads the channel from his cell's replica.
            let history = try await c.request(.GET, "/channels/\(shared.id)/messages?limit=100", token: bob, edge: 1).decode([Message].self)
            #expect(history.count == 15 && history.first?.content == "m14")
            #expect(try await c.request(.GET, "/channels/\(shared.id)/messages", token: bob, edge: 0).status == 200, "through either edge")
            // One hop each: the edge has learnt that Bob's cell serves the channel (his replica).
            try await Self.expectOneHop(c, edge: 1, token: bob, channel: shared.id)

            // Bob writes in it too: his cell checks him, the channel's home stores it, the relay brings it back.
            let fromBob = try await c.request(.POST, "/channels/\(shared.id)/messages", token: bob, json: #"{"content":"m\#(posted)"}"#,
                                              headers: [("X-Request-Id", "bob-write-1")], edge: 1)
            #expect(fromBob.status == 200, "\(fromBob.text)")
            #expect(fromBob.json?["author"]?["username"]?.stringValue == "bob")
            posted += 1
            try await eventually("Bob's message is in both copies") { try await equal() }
            // His request's id went edge → his cell → the channel's home (its outbox row) → the
            // relay → his cell's own outbox row for the replica's event.
            let bobsMessage = try #require(fromBob.json?["id"]?.stringValue)
            for (cell, db, domain) in [("home", homeDB, c.domains[0]), ("replica", replicaDB, c.domains[1])] {
                try await domain.settleOutbox()  // its row numbered (events are read by number)
                let created = try await db.events(after: 0, limit: 100_000).first {
                    $0.event.type == "MESSAGE_CREATE" && $0.event.payload.contains(#""id":"\#(bobsMessage)""#)
                }
                #expect(created?.event.requestID == "bob-write-1", "\(cell): \(String(describing: created?.event.requestID))")
            }
            let outsider = try await c.request(.POST, "/channels/\(shared.id)/messages", token: (try await c.register("carol", edge: 1)).1,
                                               body: MessageCreateRequest(content: "let me in"), edge: 1)
            #expect(outsider.status == 403, "a member of neither workspace may not write: \(outsider.text)")

            // The relay stopped: the home keeps going, the replica waits, then catches up.
            await relay.stop()
            try await post(10)
            #expect(try await replicaDB.channelDigest(shared.id).count == posted - 10, "the replica waits for the relay")
            // Written and edited while the relay was away, so both come in one page: the replica
            // writes the last version once, and Bob's session still hears of the edit.
            let whileAway = try await c.request(.POST, "/channels/\(shared.id)/messages", token: alice,
                                                body: MessageCreateRequest(content: "before the edit")).decode(Message.self)
            _ = try await c.request(.PATCH, "/channels/\(shared.id)/messages/\(whileAway.id)", token: alice, json: #"{"content":"edited while away"}"#)
            posted += 1
            relay.start()
            try await eventually("caught up after the relay restarted") { try await equal() }
            try await bobSession.waitDispatch("MESSAGE_UPDATE") {
                $0["d"]?["id"]?.stringValue == whileAway.id.description && $0["d"]?["content"]?.stringValue == "edited while away"
            }

            // Cell 1 cut off from the other region (its link gone): the relay into cell 2 cannot
            // reach it while the home keeps taking messages; when the link returns, it catches up.
            let link = try #require(c.links.first { $0.cell == 1 })
            link.api.stop()
            link.redis.stop()
            try await post(10)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await replicaDB.channelDigest(shared.id).count == posted - 10, "nothing crosses a cut link")
            let healed = [try await link.api.restart(), try await link.redis.restart()]
            try await eventually("caught up after the link came back", timeout: .seconds(20)) { try await equal() }

            // The destination's PostgreSQL refuses connections: the relay retries; nothing is lost.
            let destinationDatabase = c.config.cells[1].postgres.database
            func allowDestination(_ allowed: Bool) async throws {
                let admin = Database(settings: try TestServers.adminSettings(), logger: TestServers.logger)
                try await TestServers.withRunning(admin) { try await $0.setConnectionsAllowed(database: destinationDatabase, allowed) }
            }
            try await allowDestination(false)
            try await post(10)
            try await Task.sleep(for: .milliseconds(300))
            try await allowDestination(true)
            // (45 s: a lease the pool lost while the database refused connections is given up after 30 s.)
            try await eventually("caught up after the destination's database came back", timeout: .seconds(45)) { try await equal() }

            // Redis down in both cells: the relay needs only the cells' databases.
            await own.stop()
            // (The edges need Redis to check tokens, so these are written through the cell.)
            for _ in 0..<5 {
                _ = try await c.domains[0].createMessage(shared.id, MessageCreateRequest(content: "m\(posted)"),
                                                        caller: Caller(userID: home.owner_id, tokenID: Snowflake(1), isBot: false))
                posted += 1
            }
            try await eventually("caught up with Redis down") { try await equal() }
            try await own.start()

            // A replay from the start applies everything again and changes nothing.
            try await replicaDB.setRelayCursor(source: 1, seq: 0)
            try await eventually("replayed") { try await replicaDB.relayCursor(source: 1).seq >= (try await homeDB.outboxHead()) }
            #expect(try await equal(), "\(posted) messages, one copy each, same content on both sides")
            // A relay whose idea of the cursor is ahead of the destination's (a replay moved it back)
            // has its page refused, so nothing between the two is skipped.
            let head = try await homeDB.outboxHead()
            let gap = try await c.domains[1].applyRelayed(source: 1, events: [], after: head + 10, through: head + 20)
            let cursorAfterGap = try await replicaDB.relayCursor(source: 1).seq
            #expect(gap.applied == 0 && gap.cursor <= head && cursorAfterGap <= head)
            // An edit and a deletion at home reach the replica too.
            let latest = try await c.request(.GET, "/channels/\(shared.id)/messages?limit=2", token: alice).decode([Message].self)
            _ = try await c.request(.PATCH, "/channels/\(shared.id)/messages/\(latest[0].id)", token: alice, json: #"{"content":"edited"}"#)
            _ = try await c.request(.DELETE, "/channels/\(shared.id)/messages/\(latest[1].id)", token: alice)
            posted -= 1
            try await eventually("edit and deletion relayed") { try await equal() }
            #expect(try await c.request(.GET, "/channels/\(shared.id)/messages?limit=1", token: bob, edge: 1).decode([Message].self).first?.content == "edited")

            // Bob edits and deletes his own messages from his side (the home does it); not Alice's.
            let bobsFirst = try fromBob.decode(Message.self)
            // Someone of the other workspace may mention everyone as @everyone may by default
            // (this workspace's roles are not theirs).
            let loud = try await c.request(.PATCH, "/channels/\(shared.id)/messages/\(bobsFirst.id)", token: bob, json: #"{"content":"@everyone look"}"#, edge: 1)
            #expect(loud.json?["mention_everyone"]?.boolValue == true, "\(loud.text)")
            let bobEdit = try await c.request(.PATCH, "/channels/\(shared.id)/messages/\(bobsFirst.id)", token: bob, json: #"{"content":"bob, edited"}"#, edge: 1)
            #expect(bobEdit.status == 200 && bobEdit.json?["content"]?.stringValue == "bob, edited", "\(bobEdit.text)")
            let notHis = try await c.request(.PATCH, "/channels/\(shared.id)/messages/\(latest[0].id)", token: bob, json: #"{"content":"mine now"}"#, edge: 1)
            #expect(notHis.status == 403 && notHis.json?["code"]?.intValue == 50005, "\(notHis.text)")
            let notHisToDelete = try await c.request(.DELETE, "/channels/\(shared.id)/messages/\(latest[0].id)", token: bob, edge: 1)
            #expect(notHisToDelete.status == 403, "\(notHisToDelete.text)")
            let bobsSecond = try await c.request(.POST, "/channels/\(shared.id)/messages", token: bob, body: MessageCreateRequest(content: "oops"), edge: 1).decode(Message.self)
            let bobDelete = try await c.request(.DELETE, "/channels/\(shared.id)/messages/\(bobsSecond.id)", token: bob, edge: 1)
            #expect(bobDelete.status == 204, "\(bobDelete.text)")
            try await eventually("Bob's edit and deletion are on both sides") {
                let relayed = try await replicaDB.message(channelID: shared.id, id: bobsFirst.id)
                return try await equal() && relayed?.content == "bob, edited"
            }
            #expect(try await homeDB.message(channelID: shared.id, id: bobsSecond.id) == nil)
            // Deleting the channel at home deletes the replica (CHANNEL_DELETE was not relayed), and Bob's session hears of it.
            #expect(try await c.request(.DELETE, "/channels/\(shared.id)", token: alice).status == 200)
            try await eventually("the replica is deleted too") { try await replicaDB.channel(id: shared.id) == nil }
            try await bobSession.waitDispatch("CHANNEL_DELETE")
            #expect(try await c.request(.GET, "/channels/\(shared.id)/messages", token: bob, edge: 1).status == 404)
            await relay.stop()
            bobSession.close()
            for proxy in healed { proxy.stop() }
        }
        await own.stop()
    }

    /// Slack Connect's flow over REST: the owner of a channel's workspace offers it with a share
    /// invite, the owner of a workspace homed in the other cell accepts it into theirs (history
    /// copied, the channel readable and writable there). A member who is not the owner can do
    /// neither, and a code is taken by one workspace.
    @Test func aShareInviteIsOfferedByOneOwnerAndAcceptedByTheOther() async throws {
        try await TestCluster.with(cells: 2, edges: 2) { c in
            let (aliceID, alice) = try await c.register("alice", edge: 0)
            let (_, bob) = try await c.register("bob", edge: 1)
            let (_, dave) = try await c.register("dave", edge: 1)
            let home = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Home")).decode(Guild.self)
            let away = try await c.request(.POST, "/guilds", token: bob, body: GuildCreateRequest(name: "Away"), edge: 1).decode(Guild.self)
            let daves = try await c.request(.POST, "/guilds", token: dave, body: GuildCreateRequest(name: "Dave's"), edge: 1).decode(Guild.self)
            let invite = try await c.request(.POST, "/channels/\(away.system_channel_id!)/invites", token: bob, json: "{}", edge: 1).decode(Invite.self)
            #expect(try await c.request(.POST, "/invites/\(invite.code)", token: dave, edge: 1).status == 200)
            let channel = try await c.request(.POST, "/guilds/\(home.id)/channels", token: alice, json: #"{"name":"connect"}"#).decode(GuildChannel.self)
            // 247 older messages and 3 posted: the history is copied in pages, each its own transaction.
            let generator = SnowflakeGenerator(cell: 1, process: 14)
            let start = Date().addingTimeInterval(-86_400)
            let old = (0..<247).map { generator.next(now: start.addingTimeInterval(Double($0))) }
            try await c.domains[0].db.seedMessages(channelID: channel.id, workspaceID: home.id, authorID: aliceID, ids: old) { "old \($0)" }
            for i in 0..<3 {
                #expect(try await c.request(.POST, "/channels/\(channel.id)/messages", token: alice, body: MessageCreateRequest(content: "before \(i)")).status == 200)
            }

            let notTheirs = try await c.request(.POST, "/channels/\(channel.id)/share-invites", token: bob, edge: 1)
            #expect(notTheirs.status == 403, "only the channel's workspace can offer it: \(notTheirs.text)")
            let offer = try await c.request(.POST, "/channels/\(channel.id)/share-invites", token: alice)
            #expect(offer.status == 200, "\(offer.text)")
            let code = try offer.decode(ShareInvite.self).code
            let notOwner = try await c.request(.POST, "/guilds/\(away.id)/share-invites/\(code)", token: dave, edge: 1)
            #expect(notOwner.status == 403, "a member who is not the owner cannot accept: \(notOwner.text)")
            let accepted = try await c.request(.POST, "/guilds/\(away.id)/share-invites/\(code)", token: bob, edge: 1)
            #expect(accepted.status == 200, "\(accepted.text)")
            let replica = try accepted.decode(GuildChannel.self)
            #expect(replica.id == channel.id && replica.guild_id == away.id)
            let again = try await c.request(.POST, "/guilds/\(away.id)/share-invites/\(code)", token: bob, edge: 1)
            #expect(again.status == 200, "accepting again answers the same channel: \(again.text)")
            let taken = try await c.request(.POST, "/guilds/\(daves.id)/share-invites/\(code)", token: dave, edge: 1)
            #expect(taken.status == 404 && taken.json?["code"]?.intValue == 10006, "a code is taken by one workspace: \(taken.text)")

            let (homeDB, replicaDB) = (c.domains[0].db, c.domains[1].db)
            let (a, b) = (try await homeDB.channelDigest(channel.id), try await replicaDB.channelDigest(channel.id))
            #expect(a.count == 250 && a == b, "the history so far is copied, page by page")
            let channels = try await c.request(.GET, "/guilds/\(away.id)/channels", token: dave, edge: 1).decode([GuildChannel].self)
            #expect(channels.contains { $0.id == channel.id }, "a channel of Bob's workspace now")
            let read = try await c.request(.GET, "/channels/\(channel.id)/messages", token: dave, edge: 1).decode([Message].self)
            #expect(read.prefix(4).map(\.content) == ["before 2", "before 1", "before 0", "old 246"])
            let written = try await c.request(.POST, "/channels/\(channel.id)/messages", token: dave, body: MessageCreateRequest(content: "hello from Away"), edge: 1)
            #expect(written.status == 200, "\(written.text)")
            #expect(try await homeDB.channelDigest(channel.id).count == 251, "written at the channel's home")

            // Reactions: the home counts, the relay carries. Dave reacts through his replica,
            // Alice at home; each side sees both, and who reacted.
            let relay = RelayRunner { Relay(config: c.config, destination: c.config.cells[1], internalSecret: c.secrets.internalSecret,
                                            pollInterval: .milliseconds(20), logger: TestServers.logger) }
            relay.start()
            let davesPost = try written.decode(Message.self)
            for _ in 0..<200 where try await replicaDB.message(channelID: channel.id, id: davesPost.id) == nil { try await Task.sleep(for: .milliseconds(50)) }
            let path = "/channels/\(channel.id)/messages/\(davesPost.id)/reactions"
            #expect(try await c.request(.PUT, "\(path)/%F0%9F%91%8D/@me", token: dave, edge: 1).status == 204)
            #expect(try await homeDB.decorations(channelID: channel.id, messageIDs: [davesPost.id], viewer: nil).reactions[davesPost.id]?.map(\.count) == [1],
                    "counted at the channel's home")
            #expect(try await c.request(.PUT, "\(path)/%F0%9F%8E%89/@me", token: alice).status == 204)
            for _ in 0..<200 where try await replicaDB.decorations(channelID: channel.id, messageIDs: [davesPost.id], viewer: nil).reactions[davesPost.id]?.count != 2 {
                try await Task.sleep(for: .milliseconds(50))
            }
            let seenAway = try await c.request(.GET, "/channels/\(channel.id)/messages/\(davesPost.id)", token: dave, edge: 1).decode(Message.self)
            #expect(seenAway.reactions?.map { [$0.emoji.name, "\($0.count)", "\($0.me)"] } == [["👍", "1", "true"], ["🎉", "1", "false"]])
            let party = try await c.request(.GET, "\(path)/%F0%9F%8E%89", token: dave, edge: 1).decode([User].self)
            #expect(party.map(\.id) == [aliceID], "the replica knows who reacted at home")
            #expect(try await c.request(.DELETE, "\(path)/%F0%9F%8E%89/\(aliceID)", token: dave, edge: 1).status == 403,
                    "the other workspace does not manage this channel's reactions")
            #expect(try await c.request(.DELETE, "\(path)/%F0%9F%91%8D/@me", token: dave, edge: 1).status == 204)
            for _ in 0..<200 where try await replicaDB.decorations(channelID: channel.id, messageIDs: [davesPost.id], viewer: nil).reactions[davesPost.id]?.count != 1 {
                try await Task.sleep(for: .milliseconds(50))
            }
            let seenHome = try await c.request(.GET, "/channels/\(channel.id)/messages/\(davesPost.id)", token: alice).decode(Message.self)
            #expect(seenHome.reactions?.map(\.emoji.name) == ["🎉"] && seenHome.reactions?.first?.me == true)

            // A file from the other side: Dave's cell hands it with his post to the home, which
            // stores it; the relay brings the message back and either edge serves the file.
            let bytes = Data("shared across cells".utf8)
            let form = AttachmentTests.form(#"{"content":"a file from Away"}"#, [AttachmentTests.File(field: "files[0]", name: "away.txt", type: "text/plain", data: bytes)])
            let uploaded = try await AttachmentTests.send(c, .POST, "/channels/\(channel.id)/messages", token: dave, form: form, edge: 1)
            #expect(uploaded.status == 200, "\(uploaded.text)")
            let fileMessage = try uploaded.decode(Message.self)
            #expect(try await AttachmentTests.download(c, try #require(fileMessage.attachments.first?.url)).body == bytes)
            for _ in 0..<200 where try await replicaDB.message(channelID: channel.id, id: fileMessage.id) == nil { try await Task.sleep(for: .milliseconds(50)) }
            let relayed = try await c.request(.GET, "/channels/\(channel.id)/messages/\(fileMessage.id)", token: dave, edge: 1).decode(Message.self)
            let viaAway = try #require(relayed.attachments.first?.url).replacingOccurrences(of: c.edgeURLs[0], with: c.edgeURLs[1])
            #expect(try await AttachmentTests.download(c, viaAway).body == bytes, "the file, relayed, is served through the other region's edge")
            // An edit from the other side adds a file (handed to the home with the edit) and keeps the first.
            let second = Data("a second file".utf8)
            let edited = try await AttachmentTests.send(c, .PATCH, "/channels/\(channel.id)/messages/\(fileMessage.id)", token: dave, form: AttachmentTests.form(
                #"{"attachments":[{"id":"\#(fileMessage.attachments[0].id)"},{"id":0,"filename":"second.txt"}]}"#,
                [AttachmentTests.File(field: "files[0]", name: "second.txt", type: "text/plain", data: second)]), edge: 1)
            #expect(edited.status == 200, "\(edited.text)")
            let both = try edited.decode(Message.self).attachments
            #expect(both.map(\.filename) == ["away.txt", "second.txt"])
            #expect(try await AttachmentTests.download(c, try #require(both.last?.url)).body == second)

            // Each workspace governs its own copy of the channel with its own roles: Away makes
            // it private; its members lose it, the home's copy keeps its own overwrites.
            let session = GatewayTestClient(url: GatewayFrames.url(c.edgeURLs[1]))
            session.send(GatewayFrames.identify(dave))
            _ = try await session.waitDispatch("GUILD_CREATE") { $0["d"]?["id"]?.stringValue == away.id.description }
            let hide = try await c.request(.PUT, "/channels/\(channel.id)/permissions/\(away.id)", token: bob, json: #"{"type":0,"deny":"1024"}"#, edge: 1)
            #expect(hide.status == 204, "\(hide.text)")
            #expect(try await c.request(.GET, "/channels/\(channel.id)", token: alice).decode(GuildChannel.self).permission_overwrites.isEmpty)
            #expect(try await c.request(.GET, "/channels/\(channel.id)/messages", token: dave, edge: 1).status == 403)
            let refused = try await c.request(.POST, "/channels/\(channel.id)/messages", token: dave, body: MessageCreateRequest(content: "x"), edge: 1)
            #expect(refused.status == 403, "\(refused.text)")
            #expect(try await c.request(.GET, "/channels/\(channel.id)/messages", token: bob, edge: 1).status == 200, "Away's owner still sees it")
            #expect(try await c.request(.POST, "/channels/\(channel.id)/messages", token: alice, body: MessageCreateRequest(content: "home only")).status == 200)
            // Once relayed into Away's cell, a later event there proves the relayed one was not delivered.
            for _ in 0..<200 where try await replicaDB.channelDigest(channel.id).count < 253 { try await Task.sleep(for: .milliseconds(50)) }
            #expect(try await replicaDB.channelDigest(channel.id).count == 253, "the relay brought it into Away's cell")
            #expect(try await c.request(.POST, "/channels/\(away.system_channel_id!)/messages", token: bob, body: MessageCreateRequest(content: "marker"), edge: 1).status == 200)
            _ = try await session.waitDispatch("MESSAGE_CREATE") { $0["d"]?["content"]?.stringValue == "marker" }
            #expect(!session.dispatches("MESSAGE_CREATE").contains { $0["d"]?["content"]?.stringValue == "home only" })
            session.close()
            await relay.stop()
        }
    }

    /// With a 200 ms one-way link between the regions: a post in us reaches a session in eu
    /// after one crossing (not before: the link is real), and a write from eu into a workspace
    /// homed in us pays one round trip over it, not one per query. Medians of five, with
    /// bounds a whole link-crossing apart, so a slow machine does not decide the outcome.
    @Test func crossingTheLinkBetweenRegionsIsPaidOnce() async throws {
        let delay = 200.0
        try await TestCluster.with(cells: 2, edges: 2, interRegionDelay: delay) { c in
            let (_, alice) = try await c.register("alice", edge: 0)
            let (_, bob) = try await c.register("bob", edge: 1)
            let home = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Across")).decode(Guild.self)
            let general = try #require(home.system_channel_id)
            let invite = try await c.request(.POST, "/channels/\(general)/invites", token: alice, json: "{}").decode(Invite.self)
            #expect(try await c.request(.POST, "/invites/\(invite.code)", token: bob, edge: 1).status == 200)
            let bobSession = GatewayTestClient(url: GatewayFrames.url(c.edgeURLs[1]))
            bobSession.send(GatewayFrames.identify(bob))
            _ = try await bobSession.waitDispatch("GUILD_CREATE")

            func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
            var deliveries: [Double] = []
            var farWrites: [Double] = []
            for i in 0..<5 {
                let posted = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "us \(i)"))
                let acknowledged = ContinuousClock.now
                #expect(posted.status == 200)
                _ = try await bobSession.waitDispatch("MESSAGE_CREATE") { $0["d"]?["content"]?.stringValue == "us \(i)" }
                deliveries.append(Double((ContinuousClock.now - acknowledged).components.attoseconds) / 1e15
                                  + Double((ContinuousClock.now - acknowledged).components.seconds) * 1000)
                let started = ContinuousClock.now
                let far = try await c.request(.POST, "/channels/\(general)/messages", token: bob, body: MessageCreateRequest(content: "eu \(i)"), edge: 1)
                let took = ContinuousClock.now - started
                #expect(far.status == 200)
                farWrites.append(Double(took.components.seconds) * 1000 + Double(took.components.attoseconds) / 1e15)
            }
            let (delivery, write) = (median(deliveries), median(farWrites))
            #expect(delivery >= delay && delivery < 2 * delay + 300, "us → eu delivery \(delivery) ms: one crossing of \(delay) ms")
            #expect(write >= 2 * delay && write < 4 * delay, "a far write \(write) ms: one round trip of \(2 * delay) ms, not two")
            bobSession.close()
        }
    }
}
