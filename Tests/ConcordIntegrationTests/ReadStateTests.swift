import ConcordAuth
@testable import ConcordCell
import ConcordModels
import Foundation
import Testing

/// Read states end to end: unread counts are channel sequence minus read sequence, mention
/// counts follow posts, edits, deletions and acks, READY carries them, and an ack reaches the
/// user's other sessions as MESSAGE_ACK.
@Suite("Read states")
struct ReadStateTests {
    func identify(_ token: String) -> String { GatewayFrames.identify(token) }
    func gateway(_ c: TestCluster) -> String { GatewayFrames.url(c.edgeURL) }

    @Test func countsFollowPostsEditsDeletesAndAcks() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let (bobID, bob) = try await c.register("bob")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Unread")).decode(Guild.self)
            let general = guild.system_channel_id!
            _ = try await c.domain.addMember(guild.id, userID: bobID)
            let claims = try #require(TokenAuthority(secret: c.secrets.tokenSecret).verify(bob))
            let caller = Caller(userID: bobID, tokenID: claims.tokenID, isBot: false)
            let bobSession = GatewayTestClient(url: gateway(c))
            bobSession.send(identify(bob))
            try await bobSession.waitDispatch("GUILD_CREATE")

            func post(_ text: String) async throws -> Message {
                try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: text)).decode(Message.self)
            }
            func bobsCounts() async throws -> (unread: Int, mentions: Int) {
                // Delivered to Bob's session means sequenced, so the channel's numbering has caught up.
                let state = try #require(try await c.domain.readStates(caller).first { $0.id == general })
                return (state.unread_count, state.mention_count)
            }
            let m1 = try await post("hello")
            let m2 = try await post("hey <@\(bobID)>")
            let m3 = try await post("@everyone look")
            try await eventually("bob got all three") { bobSession.dispatches("MESSAGE_CREATE").count == 3 }
            #expect(try await bobsCounts() == (3, 2), "three unread, one direct mention and one @everyone")

            let ready = GatewayTestClient(url: gateway(c))
            ready.send(identify(bob))
            let entries = try await ready.waitDispatch("READY")["d"]?["read_state"]?["entries"]?.arrayValue ?? []
            let entry = entries.first { $0["id"]?.stringValue == general.description }
            #expect(entry?["unread_count"]?.intValue == 3 && entry?["mention_count"]?.intValue == 2, "READY carries read_state")

            _ = try await c.request(.PATCH, "/channels/\(general)/messages/\(m1.id)", token: alice, json: #"{"content":"hello <@\#(bobID)>"}"#)
            #expect(try await bobsCounts().mentions == 3, "an edit that adds a mention counts it")
            _ = try await c.request(.DELETE, "/channels/\(general)/messages/\(m2.id)", token: alice)
            #expect(try await bobsCounts().mentions == 2, "deleting an unread mention lowers the count")

            let ack = try await c.request(.POST, "/channels/\(general)/messages/\(m3.id)/ack", token: bob, json: #"{"token":null}"#)
            #expect(ack.status == 200)
            #expect(ack.json?["unread_count"]?.intValue == 0 && ack.json?["mention_count"]?.intValue == 0)
            let relayed = try await bobSession.waitDispatch("MESSAGE_ACK")
            #expect(relayed["d"]?["message_id"]?.stringValue == m3.id.description, "the other session hears the ack")
            #expect(try await bobsCounts() == (0, 0))

            let m4 = try await post("one more for <@\(bobID)>")
            try await eventually("bob got m4") { bobSession.dispatches("MESSAGE_CREATE").count == 4 }
            #expect(try await bobsCounts() == (1, 1))
            _ = try await c.request(.PATCH, "/channels/\(general)/messages/\(m4.id)", token: alice, json: #"{"content":"one more"}"#)
            #expect(try await bobsCounts().mentions == 0, "an edit that removes a mention uncounts it")

            // Alice read everything she wrote herself.
            let aliceClaims = try #require(TokenAuthority(secret: c.secrets.tokenSecret).verify(alice))
            let aliceState = try await c.domain.readStates(Caller(userID: aliceClaims.userID, tokenID: aliceClaims.tokenID, isBot: false))
            #expect(aliceState.first { $0.id == general }?.unread_count == 0, "a sender's own messages are read")

            let bulk = try await c.request(.POST, "/read-states/ack-bulk", token: bob,
                                           body: BulkAckRequest(readStates: [.init(channelID: general, messageID: m4.id)]))
            #expect(bulk.status == 204)
            #expect(try await bobsCounts() == (0, 0))
            let tooMany = try await c.request(.POST, "/read-states/ack-bulk", token: bob, body: BulkAckRequest(readStates: []))
            #expect(tooMany.status == 400)

            // The counters Redis holds agree with PostgreSQL's own count.
            #expect(try await c.domain.readStates(caller) == (try await c.domain.db.readStates(userID: bobID).map(CellDomain.entry)))

            // Counts live in the cell's Redis and come back from PostgreSQL after a flush.
            _ = try await post("after the ack <@\(bobID)>")
            try await eventually("bob got it") { bobSession.dispatches("MESSAGE_CREATE").count == 5 }
            // The test Redis is shared by tests running in parallel: "flush" this cell's keys only.
            let keys = try await c.domain.redis.send("KEYS", "concord:\(c.cellName):*").array?.compactMap(\.string) ?? []
            #expect(!keys.isEmpty)
            _ = try await c.domain.redis.send(["DEL"] + keys)
            let fresh = try await c.request(.GET, "/users/@me/read-states", token: bob).decode([ReadStateEntry].self)
            let afterFlush = fresh.first { $0.id == general }
            #expect(afterFlush?.unread_count == 1 && afterFlush?.mention_count == 1, "counts after a Redis flush")
            for client in [bobSession, ready] { client.close() }
        }
    }

    /// Reads come from Redis (a value planted there shows), a Redis that restarts with an old
    /// snapshot after missing writes is not believed (the generation moves on), and a flushed
    /// Redis is rebuilt from PostgreSQL — each time with the same counts PostgreSQL gives.
    @Test func countersSurviveARedisOutageAndAFlush() async throws {
        let own = try OwnRedis()
        try await own.start()
        try await TestCluster.with(redisPort: own.port) { c in
            let (aliceID, alice) = try await c.register("alice")
            let (bobID, _) = try await c.register("bob")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Counters")).decode(Guild.self)
            let general = guild.system_channel_id!
            _ = try await c.domain.addMember(guild.id, userID: bobID)
            // While Redis is down the edge cannot check tokens, so everything goes through the cell.
            let alicesCaller = Caller(userID: aliceID, tokenID: Snowflake(1), isBot: false)
            let bobsCaller = Caller(userID: bobID, tokenID: Snowflake(1), isBot: false)
            func post(_ text: String) async throws -> Snowflake {
                try WireJSON.decode(Message.self, from: Data(try await c.domain.createMessage(general, MessageCreateRequest(content: text),
                                                                                                   caller: alicesCaller).utf8)).id
            }
            func bobsCounts() async throws -> [Int] {
                let state = try #require(try await c.domain.readStates(bobsCaller).first { $0.id == general })
                return [state.unread_count, state.mention_count]
            }
            func postgresCounts() async throws -> [Int] {
                let state = try #require(try await c.domain.db.readStates(userID: bobID).first { $0.channelID == general })
                return [state.unreadCount, state.mentionCount]
            }
            let redis = c.domain.redis
            let counters = c.domain.counters

            let first = try await post("hi <@\(bobID)>")
            try await eventually("sequenced") { try await bobsCounts() == [1, 1] }
            let entry = try await redis.send("HGET", counters.userKey(bobID), general.description).string ?? ""
            #expect(entry.hasSuffix(" 0 0 1"), "Bob's copied entry: nothing read, one mention (\(entry))")
            _ = try await redis.send("HSET", counters.seqKey, general.description, "100")
            #expect(try await bobsCounts() == [100, 1], "the count is read from Redis")

            _ = try await redis.send("SAVE")
            await own.stop()
            _ = try await c.domain.acknowledge(general, messageID: first, caller: bobsCaller)
            _ = try await post("again <@\(bobID)>")
            let everyone = try await post("@everyone look")
            _ = try await post("plain")
            try await eventually("all four sequenced") { try await postgresCounts() == [3, 2] }
            #expect(try await bobsCounts() == [3, 2], "counted in PostgreSQL while Redis is down")
            try await own.start()
            #expect(try await redis.send("HGET", counters.seqKey, general.description).string == "100", "the old snapshot is back")
            #expect(try await bobsCounts() == [3, 2], "a snapshot that missed writes is rebuilt, not believed")
            #expect(try await postgresCounts() == [3, 2])

            let keys = try await redis.send("KEYS", "concord:\(c.cellName):unread:*").array?.compactMap(\.string) ?? []
            #expect(keys.count >= 4, "seq, generation, Bob's hash, mass mentions: \(keys)")
            _ = try await redis.send("FLUSHALL")
            #expect(try await bobsCounts() == [3, 2], "counts after a flush")
            _ = try await c.domain.deleteMessage(general, id: everyone, caller: alicesCaller)
            #expect(try await bobsCounts() == [3, 1], "deleting the unread @everyone lowers the count")
            #expect(try await postgresCounts() == [3, 1])
        }
        await own.stop()
    }
}
