import AsyncHTTPClient
import ConcordAuth
import ConcordCell
import ConcordEdge
import ConcordGateway
import ConcordModels
import ConcordRedis
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// A careless client and an attacker against a running edge and cell: each case here once
/// crashed a cell, locked people out, stored what PostgreSQL refuses, or grew a process.
@Suite("Hardening")
struct HardeningTests {
    /// Discord's error shape: a code and a message.
    func isDiscordError(_ reply: TestCluster.Reply) -> Bool {
        reply.json?["code"]?.intValue != nil && reply.json?["message"]?.stringValue != nil
    }

    @Test func hostileNumbersAreClientErrorsAndTheCellStaysUp() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Numbers")).decode(Guild.self)
            let general = guild.system_channel_id!
            let posted = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "one"))
            #expect(posted.status == 200)
            // This exact request once killed the cell (around+1 overflowed).
            for query in ["around=18446744073709551615", "around=9223372036854775808", "before=-1", "after=abc",
                          "limit=18446744073709551616", "limit=-5", "limit=0", "around=1&limit=101"] {
                let reply = try await c.request(.GET, "/channels/\(general)/messages?\(query)", token: alice)
                #expect(reply.status == 400, "\(query): \(reply.status) \(reply.text)")
                #expect(reply.json?["code"]?.intValue == 50035, "\(query)")
            }
            for path in ["/channels/18446744073709551615", "/channels/-1/messages", "/guilds/99999999999999999999999",
                         "/channels/\(general)/messages/18446744073709551615", "/invites/%00"] {
                let reply = try await c.request(.GET, path, token: alice)
                #expect((400..<500).contains(reply.status) && isDiscordError(reply), "\(path): \(reply.status) \(reply.text)")
            }
            // REST fuzzing found these: a 100 KB path got no answer at all; an unknown invite said "Unknown Channel".
            let long = try await c.request(.GET, "/invites/" + String(repeating: "a", count: 100_000), token: alice)
            #expect((400..<500).contains(long.status), "a kept-alive connection's decoder answers it")
            let port = c.edgePort
            let fresh = try await offThePool { () -> String in
                let socket = try RawSocket(port: port)
                socket.write("GET /api/v10/invites/" + String(repeating: "a", count: 100_000) + " HTTP/1.1\r\nHost: x\r\n\r\n")
                return socket.readAll(within: 5)
            }
            #expect(fresh.hasPrefix("HTTP/1.1 414") && fresh.contains(#""code":0"#), "a new connection's first head: \(fresh.prefix(200))")
            let unknownInvite = try await c.request(.GET, "/invites/" + String(repeating: "a", count: 5000), token: alice)
            #expect(unknownInvite.status == 404 && unknownInvite.json?["code"]?.intValue == 10006, "\(unknownInvite.text)")
            let largest = try await c.request(.GET, "/channels/\(general)/messages?around=9223372036854775807", token: alice)
            #expect(largest.status == 200, "the largest id is a valid cursor: \(largest.text)")
            let page = try await c.request(.GET, "/channels/\(general)/messages?before=9223372036854775807", token: alice)
            #expect(try page.decode([Message].self).map(\.content) == ["one"], "the cell still serves")
            for body in [#"{"name":"x","position":18446744073709551615}"#, #"{"name":"x","position":-1}"#] {
                let reply = try await c.request(.POST, "/guilds/\(guild.id)/channels", token: alice, json: body)
                #expect(reply.status == 400 && isDiscordError(reply), "\(body): \(reply.text)")
            }
            for body in [#"{"max_age":-1}"#, #"{"max_uses":18446744073709551615}"#, #"{"max_age":1e300}"#] {
                let reply = try await c.request(.POST, "/channels/\(general)/invites", token: alice, json: body)
                #expect(reply.status == 400 && isDiscordError(reply), "\(body): \(reply.text)")
            }
            // A message's body is typed and validated by the cell alone (the edge checks its syntax):
            // numbers out of range get client errors and store nothing; flags of -1 keep only the
            // bits a client may set (suppress embeds, 4, and notifications, 4096), as before.
            let message = try posted.decode(Message.self)
            let numbers = [#"{"content":"x","flags":18446744073709551615}"#,
                           #"{"content":"x","message_reference":{"message_id":"18446744073709551615"}}"#,
                           #"{"content":"x","message_reference":{"message_id":"-1"}}"#,
                           #"{"content":"x","allowed_mentions":{"users":["18446744073709551616"]}}"#]
            for body in numbers {
                let reply = try await c.request(.POST, "/channels/\(general)/messages", token: alice, json: body)
                #expect(reply.status == 400 && isDiscordError(reply), "create \(body): \(reply.status) \(reply.text)")
            }
            for body in [#"{"flags":18446744073709551615}"#, #"{"content":1e300}"#] {
                let reply = try await c.request(.PATCH, "/channels/\(general)/messages/\(message.id)", token: alice, json: body)
                #expect(reply.status == 400 && isDiscordError(reply), "edit \(body): \(reply.status) \(reply.text)")
            }
            let unchanged = try await c.request(.GET, "/channels/\(general)/messages", token: alice).decode([Message].self)
            #expect(unchanged.map(\.content) == ["one"] && unchanged.first?.edited_timestamp == nil, "nothing stored or changed")
            let allFlags = try await c.request(.POST, "/channels/\(general)/messages", token: alice, json: #"{"content":"x","flags":-1}"#)
            #expect(allFlags.status == 200 && allFlags.json?["flags"]?.intValue == 4 | 4096, "\(allFlags.text)")
            let editedFlags = try await c.request(.PATCH, "/channels/\(general)/messages/\(message.id)", token: alice, json: #"{"flags":-1}"#)
            #expect(editedFlags.status == 200 && editedFlags.json?["flags"]?.intValue == 4 | 4096, "\(editedFlags.text)")
        }
    }

    @Test func noTextFieldTakesANulCharacter() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Nul")).decode(Guild.self)
            let general = guild.system_channel_id!
            let nul = #"nul\u0000byte"#
            let cases: [(HTTPMethod, String, String, [String])] = [
                (.POST, "/channels/\(general)/messages", #"{"content":"\#(nul)"}"#, ["content"]),
                (.POST, "/channels/\(general)/messages", #"{"content":"x","nonce":"\#(nul)"}"#, ["nonce"]),
                (.POST, "/channels/\(general)/messages", #"{"embeds":[{"title":"\#(nul)"}]}"#, ["embeds", "0", "title"]),
                (.POST, "/guilds", #"{"name":"\#(nul)"}"#, ["name"]),
                (.PATCH, "/guilds/\(guild.id)", #"{"description":"\#(nul)"}"#, ["description"]),
                (.POST, "/guilds/\(guild.id)/channels", #"{"name":"ok","topic":"\#(nul)"}"#, ["topic"]),
                (.PATCH, "/channels/\(general)", #"{"name":"\#(nul)"}"#, ["name"]),
                (.POST, "/auth/register", #"{"username":"carol","password":"\#(nul)xxxxxxxx"}"#, ["password"]),
                (.POST, "/auth/login", #"{"login":"\#(nul)","password":"whatever1"}"#, ["login"]),
            ]
            for (method, path, body, errorPath) in cases {
                let reply = try await c.request(method, path, token: path.hasPrefix("/auth") ? nil : alice, json: body)
                #expect(reply.status == 400, "\(path) \(body): \(reply.status) \(reply.text)")
                #expect(reply.json?["code"]?.intValue == 50035, "\(path)")
                var node = reply.json?["errors"]
                for key in errorPath { node = node?[key] }
                #expect(node?["_errors"] != nil, "the error names \(errorPath): \(reply.text)")
            }
            let history = try await c.request(.GET, "/channels/\(general)/messages", token: alice).decode([Message].self)
            #expect(history.isEmpty, "nothing was stored")
        }
    }

    @Test func malformedAndOversizedBodies() async throws {
        try await TestCluster.with(rateLimits: .init(requestsPerSecond: 10_000, messageSendsPer5s: 10_000, publicRequestsPerSecond: 1,
                                                      authRequestsPerMinute: 1_000_000, loginsPerMinutePerAccount: 1_000_000)) { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Bodies")).decode(Guild.self)
            let general = guild.system_channel_id!
            let trailing = try await c.request(.POST, "/channels/\(general)/messages", token: alice, json: #"{"content":"x",}"#)
            #expect(trailing.status == 400 && trailing.json?["code"]?.intValue == 50109, "\(trailing.text)")
            let deep = try await c.request(.POST, "/channels/\(general)/messages", token: alice,
                                           json: #"{"content":"x","components":"# + String(repeating: "[", count: 50_000))
            #expect(deep.status == 400 && deep.json?["code"]?.intValue == 50109, "deep nesting: \(deep.text)")
            let plain = try await c.request(.POST, "/channels/\(general)/messages", token: alice,
                                            headers: [("Content-Type", "text/plain")], rawBody: #"{"content":"x"}"#)
            #expect(plain.status == 415 && isDiscordError(plain), "\(plain.status) \(plain.text)")
            let charset = try await c.request(.POST, "/channels/\(general)/messages", token: alice,
                                              headers: [("Content-Type", "application/json; charset=utf-8")], rawBody: #"{"content":"ok"}"#)
            #expect(charset.status == 200, "\(charset.text)")

            // Anonymous budget spent; an oversized body is still answered 413, not 429: nothing reads it first.
            var limited = 0
            for _ in 0..<5 where try await c.request(.GET, "/gateway").status == 429 { limited += 1 }
            #expect(limited > 0)
            let huge = String(repeating: "a", count: 30 << 20)
            let oversized = try await c.request(.POST, "/auth/login", json: #"{"login":"alice","password":"\#(huge)"}"#)
            #expect(oversized.status == 413 && oversized.json?["code"]?.intValue == 40005, "\(oversized.status)")
            let overAuthenticated = try await c.request(.POST, "/channels/\(general)/messages", token: alice,
                                                        json: #"{"content":"\#(String(repeating: "b", count: 300_000))"}"#)
            #expect(overAuthenticated.status == 413)
            let history = try await c.request(.GET, "/channels/\(general)/messages", token: alice).decode([Message].self)
            #expect(history.map(\.content) == ["ok"])
        }
    }

    @Test func enforceNonceAnswersTheFirstMessage() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Nonces")).decode(Guild.self)
            let general = guild.system_channel_id!
            func post(_ body: String) async throws -> Message {
                try await c.request(.POST, "/channels/\(general)/messages", token: alice, json: body).decode(Message.self)
            }
            let first = try await post(#"{"content":"once","nonce":"n-1","enforce_nonce":true}"#)
            let again = try await post(#"{"content":"once","nonce":"n-1","enforce_nonce":true}"#)
            #expect(again.id == first.id)
            let numeric = try await post(#"{"content":"num","nonce":42,"enforce_nonce":true}"#)
            #expect(try await post(#"{"content":"num","nonce":42,"enforce_nonce":true}"#).id == numeric.id)
            // Without enforce_nonce, Discord creates a second message with the same nonce.
            let loose = try await post(#"{"content":"twice","nonce":"n-2"}"#)
            #expect(try await post(#"{"content":"twice","nonce":"n-2"}"#).id != loose.id)
            // Ten clients retrying at once: one message.
            let ids = try await withThrowingTaskGroup(of: Snowflake.self) { group in
                for _ in 0..<10 { group.addTask { try await post(#"{"content":"race","nonce":"n-3","enforce_nonce":true}"#).id } }
                return try await group.reduce(into: Set<Snowflake>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            let history = try await c.request(.GET, "/channels/\(general)/messages", token: alice).decode([Message].self)
            #expect(history.map(\.content).sorted() == ["num", "once", "race", "twice", "twice"])
            // Another author's nonce is theirs alone.
            let (_, bob) = try await c.register("bob")
            let invite = try await c.request(.POST, "/channels/\(general)/invites", token: alice, json: "{}").json?["code"]?.stringValue ?? ""
            _ = try await c.request(.POST, "/invites/\(invite)", token: bob)
            let bobs = try await c.request(.POST, "/channels/\(general)/messages", token: bob,
                                           json: #"{"content":"mine","nonce":"n-1","enforce_nonce":true}"#).decode(Message.self)
            #expect(bobs.id != first.id)
        }
    }

    /// One anonymous bucket per edge let a GET /gateway flood lock every login out.
    @Test func floodsOfOneKindLockNoOneOut() async throws {
        let limits = ClusterConfig.RateLimits(requestsPerSecond: 5, messageSendsPer5s: 1_000, publicRequestsPerSecond: 5,
                                              authRequestsPerMinute: 60, loginsPerMinutePerAccount: 3)
        try await TestCluster.with(rateLimits: limits) { c in
            _ = try await c.register("alice")
            _ = try await c.register("bob")
            let flood = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<40 {
                    group.addTask { var limited = 0; for _ in 0..<10 where try await c.request(.GET, "/gateway").status == 429 { limited += 1 }; return limited }
                }
                // Meanwhile, from the same address, a login goes through.
                let login = try await c.request(.POST, "/auth/login", body: LoginRequest(login: "alice", password: "correct horse battery"))
                #expect(login.status == 200, "login during the flood: \(login.status) \(login.text)")
                return try await group.reduce(0, +)
            }
            #expect(flood > 300, "the flood was limited (\(flood) of 400)")
            // A forged X-Forwarded-For from an untrusted peer buys no new budget: 30 at once, each
            // naming another address, would all pass if each had its own.
            let forged = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<30 {
                    group.addTask { try await c.request(.GET, "/gateway", headers: [("X-Forwarded-For", "198.51.100.\(i)")]).status == 429 }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(forged >= 10, "\(forged) of 30 limited")

            // Guessing one account's password: limited per account, whoever asks; others unaffected.
            var answers: [Int] = []
            for _ in 0..<4 { answers.append(try await c.request(.POST, "/auth/login", body: LoginRequest(login: "bob", password: "guess guess")).status) }
            #expect(answers == [400, 400, 400, 429], "\(answers)")
            let bobNow = try await c.request(.POST, "/auth/login", body: LoginRequest(login: "BOB", password: "correct horse battery"))
            #expect(bobNow.status == 429, "the account's budget is spent, right password or not")
            let alice = try await c.request(.POST, "/auth/login", body: LoginRequest(login: "alice", password: "correct horse battery"))
            #expect(alice.status == 200)

            // (Budgets per user rather than per token: RateLimiterTests.budgetsArePerUserAndPerAddress,
            // where timing cannot blur it.)
        }
    }

    @Test func revokingATokenEndsItsLiveSessionsAndAFlushedRedisDoesNotRevive() async throws {
        let own = try OwnRedis()
        try await own.start()
        try await TestCluster.with(redisPort: own.port) { c in
            let (_, alice) = try await c.register("alice")
            let (_, other) = try await c.register("carol")
            _ = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Revoked"))
            let client = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            client.send(GatewayFrames.identify(alice))
            try await client.waitDispatch("GUILD_CREATE")
            let revoked = try await c.domain.revokeTokens(token: alice)
            #expect(revoked.count == 1)
            #expect(await client.closeCode() == .unknown(4004), "the live session is closed at once")
            #expect(try await c.request(.GET, "/users/@me", token: alice).status == 401)

            let redis = RedisClient(host: "127.0.0.1", port: own.port)
            _ = try await redis.send("FLUSHALL")
            #expect(try await c.request(.GET, "/users/@me", token: alice).status == 401, "a flushed Redis does not make it valid")
            #expect(try await c.request(.GET, "/users/@me", token: other).status == 200, "valid tokens work once the set is refilled")
            // Tokens presented together (sessions identifying at once) are checked in one round trip, each on its own.
            let directory = try CellDirectory(config: c.config, region: nil, redis: c.secrets.redis(.edge))
            let authority = TokenAuthority(secret: c.secrets.tokenSecret)
            let claims = try [alice, other, alice].map { try #require(authority.verify($0)) }
            // (Nil, cannot vouch, until the cell has refilled the flushed set.)
            try await eventually("the refilled set answers for each") { await directory.areRevoked(claims) == [true, false, true] }
            let again = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            again.send(GatewayFrames.identify(alice))
            #expect(await again.closeCode() == .unknown(4004))
            await redis.close()
        }
        await own.stop()
    }

    /// No idle or header timeout and no cap per address let a slowloris hold connections forever.
    @Test func slowAndPilingConnectionsAreCutOff() async throws {
        var limits = ClusterConfig.RateLimits(requestsPerSecond: 10_000, messageSendsPer5s: 10_000, publicRequestsPerSecond: 10_000,
                                              authRequestsPerMinute: 1_000_000, loginsPerMinutePerAccount: 1_000_000)
        limits.connections_per_address = 8
        try await TestCluster.with(rateLimits: limits) { c in
            let port = c.edgePort
            // A head sent a few bytes at a time and never finished.
            let slow = try RawSocket(port: port)
            slow.write("GET /api/v10/gateway HTTP/1.1\r\nHost: x\r\n")
            let dribble = Task { for _ in 0..<30 { try await Task.sleep(for: .milliseconds(500)); slow.write("X") } }
            #expect(try await offThePool { slow.closedByServer(within: 16) }, "a head not finished in 10 s is cut off")
            dribble.cancel()
            // Eight idle connections from one address are all it may hold: of nine, one is closed
            // at once (which one depends on the order the server accepts them in) and eight stay.
            var idle = try (0..<9).map { _ in try RawSocket(port: port) }
            try await Task.sleep(for: .seconds(1))
            let opened = idle
            let closed = try await offThePool { opened.filter { $0.closedByServer(within: 0.4) }.count }
            #expect(closed == 1, "past the cap a connection is closed at once, those within it stay open (\(closed) closed)")
            idle.removeAll()
            try await eventually("the address's connections are counted down as they close") {
                (try? await c.request(.GET, "/gateway").status) == 200
            }
        }
    }

    /// GET /gateway/bot's session_start_limit was a constant; now each bot IDENTIFY counts, in
    /// the bot's home Redis, and one faster than max_concurrency allows or past the day's budget is refused.
    @Test func botSessionStartsAreCountedAndLimited() async throws {
        try await TestCluster.with { c in
            let (ownerID, _) = try await c.register("owner")
            let (bot, token) = try await c.domain.createAccount(username: "countedbot", password: nil, bot: true, ownerID: ownerID)
            func limit() async throws -> JSONValue? { try await c.request(.GET, "/gateway/bot", token: "Bot " + token).json?["session_start_limit"] }
            #expect(try await limit()?["remaining"]?.intValue == 1000)
            let first = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            first.send(GatewayFrames.identify(token))
            try await first.waitDispatch("READY")
            let after = try await limit()
            #expect(after?["remaining"]?.intValue == 999)
            let redis = RedisClient(host: "127.0.0.1", port: try TestServers.redisPort())
            #expect((after?["reset_after"]?.intValue ?? 0) > 86_000_000, "the day's count resets a day after the first start")
            // A second IDENTIFY within 5 s (max_concurrency 1) gets op 9, as Discord answers it; the
            // same socket may IDENTIFY again once the gate opens, and then counts.
            let tooSoon = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            tooSoon.send(GatewayFrames.identify(token))
            let refused = try await tooSoon.wait(for: "op 9") { $0["op"]?.intValue == 9 }
            #expect(refused["d"] == .bool(false))
            #expect(try await limit()?["remaining"]?.intValue == 999, "a refused IDENTIFY is not a session start")
            _ = try await redis.send("DEL", Topics.identifyGate(bot.id, cell: c.cellName))
            tooSoon.send(GatewayFrames.identify(token))
            try await tooSoon.waitDispatch("READY")
            #expect(try await limit()?["remaining"]?.intValue == 998)
            // The day's budget spent (set directly in the home Redis): refused even after the gate.
            _ = try await redis.send("SET", Topics.sessionStarts(bot.id, cell: c.cellName), "1000")
            _ = try await redis.send("DEL", Topics.identifyGate(bot.id, cell: c.cellName))
            let spent = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            spent.send(GatewayFrames.identify(token))
            #expect(await spent.closeCode() == .unknown(4008))
            #expect(try await limit()?["remaining"]?.intValue == 0)
            await redis.close()
            first.close()
            tooSoon.close()
        }
    }

    /// Bots identifying at once are each counted as alone: of two IDENTIFYs of one bot at once,
    /// one is READY and the other op 9, and the bot has started one session.
    @Test func botsIdentifyingAtOnceAreEachCountedOnce() async throws {
        try await TestCluster.with { c in
            let (ownerID, _) = try await c.register("owner")
            var tokens: [String] = []
            for i in 0..<12 { tokens.append(try await c.domain.createAccount(username: "batchbot\(i)", password: nil, bot: true, ownerID: ownerID).1) }
            let outcomes = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for (i, token) in tokens.enumerated() {
                    for _ in 0..<2 {
                        group.addTask {
                            let client = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
                            defer { client.close() }
                            client.send(GatewayFrames.identify(token))
                            let first = try await client.wait(for: "READY or op 9") { $0["t"]?.stringValue == "READY" || $0["op"]?.intValue == 9 }
                            return (i, first["op"]?.intValue == 9 ? "op 9" : "READY")
                        }
                    }
                }
                return try await group.reduce(into: [Int: [String]]()) { $0[$1.0, default: []].append($1.1) }
            }
            for (i, token) in tokens.enumerated() {
                #expect(outcomes[i]?.sorted() == ["READY", "op 9"], "bot \(i): \(outcomes[i] ?? [])")
                let limit = try await c.request(.GET, "/gateway/bot", token: "Bot " + token).json?["session_start_limit"]
                #expect(limit?["remaining"]?.intValue == 999, "bot \(i)")
            }
        }
    }

    /// Sockets that never identify each hold a compression context from HELLO on: an address
    /// may hold only a few of them at once.
    @Test func socketsThatNeverIdentifyAreCappedPerAddress() async throws {
        var limits = ClusterConfig.RateLimits(requestsPerSecond: 10_000, messageSendsPer5s: 10_000, publicRequestsPerSecond: 10_000,
                                              authRequestsPerMinute: 1_000_000, loginsPerMinutePerAccount: 1_000_000)
        limits.unidentified_sockets_per_address = 3
        try await TestCluster.with(rateLimits: limits) { c in
            let (_, alice) = try await c.register("alice")
            let port = c.edgePort
            // Of four unidentified sockets from one address, one is closed (which one depends on
            // the order the edge takes them in).
            let sockets = try await offThePool { () -> [StalledSocket] in
                let sockets = try (0..<4).map { _ in try StalledSocket(port: port) }
                _ = sockets[0].read(for: 2)
                for socket in sockets.dropFirst() { _ = socket.read(for: 0.5) }
                return sockets
            }
            #expect(sockets.filter { $0.closeCode == 4008 }.count == 1, "a fourth unidentified socket from one address is closed")
            let waiting = sockets.filter { $0.closeCode == nil }
            try #require(waiting.count == 3)
            // One of the three identifies: it no longer counts, and a new socket is let in.
            try waiting[0].send(GatewayFrames.identify(alice))
            let ready = try await offThePool { waiting[0].read(for: 3) }
            #expect(ready.contains { $0["t"]?.stringValue == "READY" })
            let fifth = try await offThePool { () -> StalledSocket in
                let socket = try StalledSocket(port: port)
                _ = socket.read(for: 1)
                return socket
            }
            #expect(fifth.closeCode == nil && !fifth.endOfStream, "room again once one identified")
        }
    }

    /// Pruning once honoured only the publisher: a relay down longer than the retention lost
    /// rows and moved past the gap silently.
    @Test func theOutboxKeepsRowsUntilEveryFollowerHasThemAndAGapIsRefused() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Outbox")).decode(Guild.self)
            func follow(after: Int64, as follower: String) async throws -> TestCluster.Reply {
                try await c.request(.GET, c.cellURL + "/internal/outbox?after=\(after)&limit=500&follower=\(follower)",
                                    headers: [("X-Concord-Internal", c.secrets.internalSecret)], rawPath: true, absolute: true)
            }
            #expect(try await follow(after: 0, as: "relay-test").status == 200)
            // A relay's destination cell out of range, or not a number, is refused, not trusted.
            for destination in ["-1", "18446744073709551615", "64", "%00", "x"] {
                let refused = try await c.request(.GET, c.cellURL + "/internal/outbox?after=0&limit=500&for=\(destination)",
                                                  headers: [("X-Concord-Internal", c.secrets.internalSecret)], rawPath: true, absolute: true)
                #expect(refused.status == 400, "for=\(destination): \(refused.status)")
            }
            for i in 0..<5 { _ = try await c.request(.POST, "/channels/\(guild.system_channel_id!)/messages", token: alice, body: MessageCreateRequest(content: "m\(i)")) }
            try await c.domain.settleOutbox()
            let head = try await c.domain.db.outboxHead()
            try await eventually("published") { try await c.domain.db.cursor(OutboxPublisher.consumer) >= head }
            #expect(try await c.domain.db.pruneOutbox(retentionHours: 0) == 0, "the follower at 0 keeps every row")
            let page = try await follow(after: 0, as: "relay-test")
            #expect(page.json?.arrayValue?.count == Int(head), "everything is still there for it")
            #expect(try await follow(after: head, as: "relay-test").status == 200)
            #expect(try await c.domain.db.pruneOutbox(retentionHours: 0) == Int(head), "once it has them, they go")
            let late = try await follow(after: 0, as: "relay-late")
            #expect(late.status == 410, "a follower behind the pruned rows is refused: \(late.text)")
            #expect(late.json?["message"]?.stringValue?.contains("pruned") == true)
            // A refused follower holds nothing back: no cursor of its own is left at the gap.
            for i in 0..<3 { _ = try await c.request(.POST, "/channels/\(guild.system_channel_id!)/messages", token: alice, body: MessageCreateRequest(content: "n\(i)")) }
            try await c.domain.settleOutbox()
            let later = try await c.domain.db.outboxHead()
            try await eventually("published") { try await c.domain.db.cursor(OutboxPublisher.consumer) >= later }
            #expect(try await follow(after: later, as: "relay-test").status == 200)
            #expect(try await c.domain.db.pruneOutbox(retentionHours: 0) == Int(later - head), "the late follower's refusal kept nothing")
            let hostile = try await follow(after: 0, as: "a%20b")
            #expect(hostile.status == 400)
            // Where a follower's copy is known to be: never past where it reads, never negative or huge.
            for confirmed in [String(later + 1), "-1", "18446744073709551615", "x"] {
                let refused = try await follow(after: later, as: "relay-test&confirmed=\(confirmed)")
                #expect(refused.status == 400, "confirmed=\(confirmed): \(refused.status)")
            }
            #expect(try await c.domain.db.cursor(OutboxFollower.consumer("relay-test")) == later, "a refused read moved no cursor")
            // How long a relay's read may be held: bounded, never negative.
            for wait in ["-1", "5001", "18446744073709551615", "x"] {
                let refused = try await follow(after: later, as: "relay-test&for=2&wait=\(wait)")
                #expect(refused.status == 400, "wait=\(wait): \(refused.status)")
            }
            for stream in ["-1", "2", "18446744073709551615", "yes"] {
                let refused = try await follow(after: later, as: "relay-test&for=2&wait=100&stream=\(stream)")
                #expect(refused.status == 400, "stream=\(stream): \(refused.status)")
            }
            // The largest position a follower may name is read past, not added to (no overflow).
            for path in ["follower=relay-max", "for=2&follower=relay-max", "for=2"] {
                let far = try await c.request(.GET, c.cellURL + "/internal/outbox?after=\(Int64.max)&limit=500&\(path)",
                                              headers: [("X-Concord-Internal", c.secrets.internalSecret)], rawPath: true, absolute: true)
                #expect(far.status == 200 && far.json?.arrayValue?.isEmpty == true, "\(path): \(far.status) \(far.text)")
            }
            #expect(try await c.request(.GET, "/users/@me", token: alice).status == 200, "the cell still answers")
        }
    }

    @Test func everyRedisConnectionAuthenticates() async throws {
        let own = try OwnRedis()
        let password = "redis-" + UUID().uuidString
        try await own.start(password: password)
        let anonymous = RedisClient(host: "127.0.0.1", port: own.port)
        await #expect(throws: RedisError.self) { try await anonymous.send("SET", "concord:probe", "1") }
        await anonymous.close()
        let wrong = RedisClient(host: "127.0.0.1", port: own.port, password: "not-it")
        await #expect(throws: RedisError.self) { try await wrong.send("PING") }
        await wrong.close()
        try await TestCluster.with(redisPort: own.port, redisPassword: password) { c in
            // The cell (writes, publishing), the edge (revocation checks, subscriptions) all authenticate.
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Auth")).decode(Guild.self)
            let client = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            client.send(GatewayFrames.identify(alice))
            try await client.waitDispatch("GUILD_CREATE")
            let reply = try await c.request(.POST, "/channels/\(guild.system_channel_id!)/messages", token: alice, body: MessageCreateRequest(content: "through AUTH"))
            #expect(reply.status == 200)
            try await client.waitDispatch("MESSAGE_CREATE")
            client.close()
        }
        await own.stop()
    }

    /// Each role logs in as its own ACL user (`concordctl redis-acl` writes them for Redis):
    /// what the role needs runs, anything else is refused, and a cluster runs on those users.
    @Test func eachRedisRoleMayRunOnlyItsCommands() async throws {
        let own = try OwnRedis()
        let password = "redis-" + UUID().uuidString
        try await own.start(password: password)
        let admin = RedisClient(host: "127.0.0.1", port: own.port, password: password)
        var passwords: [RedisRole: String] = [:]
        for role in RedisRole.allCases {
            passwords[role] = role.rawValue + "-" + UUID().uuidString
            _ = try await admin.send(["ACL", "SETUSER", role.user, "reset"] + role.rules(cells: ["cell-a"]) + [">" + passwords[role]!])
        }
        func outcome(_ role: RedisRole, _ command: [String]) async -> Bool {
            let client = RedisClient(host: "127.0.0.1", port: own.port, user: role.user, password: passwords[role])
            let ran = (try? await client.send(command)) != nil
            await client.close()
            return ran
        }
        let key = "concord:cell-a:revoked-tokens"
        for allowed in [["SISMEMBER", key, "1"], ["INCR", "concord:cell-a:ratelimit:1:global"], ["DECR", "concord:cell-a:ratelimit:1:global"], ["SET", "concord:cell-a:resume:s", "{}", "EX", "60"],
                        ["GETDEL", "concord:cell-a:resume:s"], ["ZADD", "concord:cell-a:presence:expiry", "XX", "CH", "1", "2"], ["PING"]] {
            #expect(await outcome(.edge, allowed), "the edge may run \(allowed)")
        }
        for refused in [["FLUSHALL"], ["KEYS", "*"], ["CONFIG", "GET", "maxmemory"], ["GET", "concord:cell-b:x"], ["DEL", key],
                        ["PUBLISH", "concord:cell-a:guild:1", "x"], ["EVAL", "return 1", "0"], ["SADD", key, "1"]] {
            #expect(await !outcome(.edge, refused), "the edge may not run \(refused)")
        }
        #expect(await outcome(.relay, ["SUBSCRIBE", Topics.outbox(cell: "cell-a")]))
        for refused in [["SUBSCRIBE", "concord:cell-a:guild:1"], ["GET", key], ["SET", "concord:cell-a:x", "1"], ["PUBLISH", Topics.outbox(cell: "cell-a"), "9"]] {
            #expect(await !outcome(.relay, refused), "the relay may not run \(refused)")
        }
        for allowed in [["SADD", key, "1"], ["EVAL", "return redis.call('GET', KEYS[1])", "1", key + "x"], ["PUBLISH", "concord:cell-a:guild:1", "x"],
                        ["DEL", key]] {
            #expect(await outcome(.cell, allowed), "the cell may run \(allowed)")
        }
        for refused in [["FLUSHALL"], ["KEYS", "*"], ["CONFIG", "SET", "maxmemory", "1"], ["DEBUG", "SLEEP", "0"], ["ACL", "LIST"], ["GET", "concord:cell-b:x"]] {
            #expect(await !outcome(.cell, refused), "the cell may not run \(refused)")
        }
        let wrong = RedisClient(host: "127.0.0.1", port: own.port, user: RedisRole.cell.user, password: passwords[.edge])
        await #expect(throws: RedisError.self) { try await wrong.send("PING") }
        await wrong.close()

        // A cluster whose processes log in as their roles: every path the flow takes works.
        for role in RedisRole.allCases {
            _ = try await admin.send(["ACL", "SETUSER", role.user, "reset"] + role.rules(cells: ["*"]) + [">" + passwords[role]!])
        }
        _ = try await admin.send("ACL", "LOG", "RESET")
        try await TestCluster.with(redisPort: own.port, redisPassword: nil, redisRoles: passwords) { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Roles")).decode(Guild.self)
            let client = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            client.send(GatewayFrames.identify(alice))
            try await client.waitDispatch("GUILD_CREATE")
            let reply = try await c.request(.POST, "/channels/\(guild.system_channel_id!)/messages", token: alice,
                                            body: MessageCreateRequest(content: "as concord-cell"))
            #expect(reply.status == 200)
            try await client.waitDispatch("MESSAGE_CREATE")
            #expect(try await c.request(.GET, "/channels/\(guild.system_channel_id!)/messages", token: alice).status == 200)
            client.close()
            // A bot's session starts are counted and gated (its second IDENTIFY within 5 s gets op 9).
            let (_, bot) = try await c.domain.createAccount(username: "rolebot", password: nil, bot: true, ownerID: guild.owner_id)
            let first = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            first.send(GatewayFrames.identify(bot))
            try await first.waitDispatch("READY")
            let second = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            second.send(GatewayFrames.identify(bot))
            _ = try await second.wait(for: "op 9") { $0["op"]?.intValue == 9 }
            #expect(try await c.request(.GET, "/gateway/bot", token: "Bot " + bot).json?["session_start_limit"]?["remaining"]?.intValue == 999)
            first.close(); second.close()
        }
        // Redis logs every command an ACL refused: none of the cluster's was.
        let denials = try await admin.send("ACL", "LOG")
        #expect(denials.array?.isEmpty == true, "refused: \(denials)")
        await admin.close()
        await own.stop()
    }

    /// The edge once believed a hand-over record's workspace list when adopting a resumed
    /// session: anyone who could write that Redis could receive any workspace's events.
    @Test func aForgedHandOverRecordGrantsNoWorkspace() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let (malloryID, mallory) = try await c.register("mallory")
            let secret = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Secret")).decode(Guild.self)
            let own = try await c.request(.POST, "/guilds", token: mallory, body: GuildCreateRequest(name: "Own")).decode(Guild.self)
            try await c.domain.settleOutbox()
            let head = try await c.domain.db.outboxHead()
            let record = HandedOverSession(userID: malloryID, isBot: false, intents: GatewayFrames.defaultIntents, sequence: 0,
                                           guilds: [secret.id, own.id], cursors: ["1": head], frames: [], presence: nil)
            let redis = RedisClient(host: "127.0.0.1", port: try TestServers.redisPort())
            _ = try await redis.send("SET", Topics.handedOverSession("forged", cell: c.cellName), try WireJSON.encodeString(record))
            await redis.close()
            let session = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            session.send(#"{"op":6,"d":{"token":"\#(mallory)","session_id":"forged","seq":0}}"#)
            try await session.waitDispatch("RESUMED")
            _ = try await c.request(.POST, "/channels/\(secret.system_channel_id!)/messages", token: alice, body: MessageCreateRequest(content: "secret"))
            _ = try await c.request(.POST, "/channels/\(own.system_channel_id!)/messages", token: mallory, body: MessageCreateRequest(content: "mine"))
            try await session.waitDispatch("MESSAGE_CREATE") { $0["d"]?["content"]?.stringValue == "mine" }
            try await Task.sleep(for: .milliseconds(300))
            #expect(!session.dispatches("MESSAGE_CREATE").contains { $0["d"]?["content"]?.stringValue == "secret" },
                    "a workspace the user is not in stays closed, whatever the record says")
            session.close()
        }
    }

    /// A hand-over record's numbers are Redis's word too: a sequence at Int64's end (the next
    /// dispatch would overflow) or frames numbered past it are refused with op 9, and the edge
    /// goes on serving.
    @Test func aForgedHandOverRecordWithImpossibleNumbersIsRefused() async throws {
        try await TestCluster.with { c in
            let (malloryID, mallory) = try await c.register("mallory")
            let redis = RedisClient(host: "127.0.0.1", port: try TestServers.redisPort())
            let table = Topics.handedOverBodies("forged", cell: c.cellName)
            _ = try await redis.send("SET", table, #"[{"type":"MESSAGE_CREATE","data":"{}"}]"#)
            let records = [
                HandedOverSession(userID: malloryID, isBot: false, intents: GatewayFrames.defaultIntents, sequence: .max,
                                  guilds: [], cursors: [:], frames: [], presence: nil),
                HandedOverSession(userID: malloryID, isBot: false, intents: GatewayFrames.defaultIntents, sequence: 10,
                                  guilds: [], cursors: [:], frames: [], presence: nil,
                                  shared: SharedFrames(table: table, firstSeq: .max, bodies: [0])),
                HandedOverSession(userID: malloryID, isBot: false, intents: GatewayFrames.defaultIntents, sequence: 10,
                                  guilds: [], cursors: [:], frames: try WireJSON.decode([KeptFrame].self, from: Data(#"[{"seq":-1,"frame":"x"},{"seq":9223372036854775807,"frame":"y"}]"#.utf8)),
                                  presence: nil),
            ]
            for (index, record) in records.enumerated() {
                _ = try await redis.send("SET", Topics.handedOverSession("forged-\(index)", cell: c.cellName), try WireJSON.encodeString(record))
                let session = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
                // The first asks from its record's own last number: all there is to replay is
                // nothing, and RESUMED would be numbered past Int64's end.
                let seq = index == 0 ? Int64.max : 5
                session.send(#"{"op":6,"d":{"token":"\#(mallory)","session_id":"forged-\#(index)","seq":\#(seq)}}"#)
                _ = try await session.wait(for: "op 9") { $0["op"]?.intValue == 9 }
                session.close()
            }
            await redis.close()
            let fresh = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            fresh.send(GatewayFrames.identify(mallory))
            try await fresh.waitDispatch("READY")
            fresh.close()
        }
    }

    /// A Redis at its memory limit (keys without a TTL fill it, so nothing can be evicted)
    /// refuses writes: the cell keeps taking messages, sessions keep receiving them, and a
    /// revocation still holds.
    @Test func aFullRedisTakesNoCellDown() async throws {
        let own = try OwnRedis()
        try await own.start()
        try await TestCluster.with(redisPort: own.port) { c in
            let (_, alice) = try await c.register("alice")
            let (_, carol) = try await c.register("carol")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Full")).decode(Guild.self)
            let general = guild.system_channel_id!
            let client = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            client.send(GatewayFrames.identify(alice))
            try await client.waitDispatch("GUILD_CREATE")
            let redis = RedisClient(host: "127.0.0.1", port: own.port)
            _ = try await redis.send("CONFIG", "SET", "maxmemory-policy", "volatile-lru")
            _ = try await redis.send("CONFIG", "SET", "maxmemory", "8mb")
            let filler = String(repeating: "x", count: 64 << 10)
            var refused = false
            for i in 0..<400 where !refused {
                do { _ = try await redis.send("SET", "filler:\(i)", filler) } catch { refused = true }
            }
            #expect(refused, "Redis is full")
            for i in 0..<5 {
                let posted = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "full \(i)"))
                #expect(posted.status == 200, "\(posted.status) \(posted.text)")
            }
            try await eventually("delivered while Redis is full") { client.dispatches("MESSAGE_CREATE").count >= 5 }
            let page = try await c.request(.GET, "/channels/\(general)/messages", token: alice)
            #expect(page.status == 200 && (page.json?.arrayValue?.count ?? 0) >= 5, "\(page.status)")
            // The revoked set cannot grow: the cell marks it incomplete and edges ask the cell's database.
            #expect(try await c.domain.revokeTokens(token: carol).count == 1)
            #expect(try await c.request(.GET, "/users/@me", token: carol).status == 401, "a revocation holds with Redis full")
            #expect(try await c.request(.GET, "/users/@me", token: alice).status == 200, "and valid tokens still work")
            await redis.close()
            client.close()
        }
        await own.stop()
    }

    /// A client that identifies, then never reads: the edge closes it once its unsent bytes pass
    /// the bound (instead of keeping everything), and it resumes with nothing lost.
    /// Compressed, the frames are counted before compression (their filler is random, so the
    /// compressed bytes too pass the sockets' buffers).
    @Test(arguments: [nil, GatewayCompression.zlibStream, .zstdStream])
    func aClientThatStopsReadingIsClosedAndResumesWithNothingLost(_ compression: GatewayCompression?) async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Stall")).decode(Guild.self)
            let general = guild.system_channel_id!
            let port = c.edgePort
            let path = "/gateway?v=10&encoding=json" + (compression.map { "&compress=\($0.rawValue)" } ?? "")
            let stalled = try await offThePool { try StalledSocket(port: port, path: path, compression: compression) }
            try stalled.send(GatewayFrames.identify(alice))
            var frames = try await offThePool {
                var frames: [JSONValue] = []
                for _ in 0..<50 where !frames.contains(where: { $0["t"]?.stringValue == "GUILD_CREATE" }) { frames += stalled.read(for: 0.2) }
                return frames
            }
            let ready = try #require(frames.first { $0["t"]?.stringValue == "READY" })
            let sessionID = try #require(ready["d"]?["session_id"]?.stringValue)
            #expect(frames.contains { $0["t"]?.stringValue == "GUILD_CREATE" })

            // ~2.4 KB a frame: 700 of them pass the 1 MiB bound and the sockets' buffers, and fit the resume buffer.
            let total = 700
            // Each message its own random filler when compressed: the stream's window would find a repeated one.
            let filler: @Sendable () -> String = { compression == nil ? String(repeating: "x", count: 1900)
                : String((0..<1900).map { _ in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".randomElement()! }) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<6 {
                    group.addTask {
                        for i in stride(from: worker, to: total, by: 6) {
                            let reply = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "\(i) \(filler())"))
                            #expect(reply.status == 200)
                        }
                    }
                }
                try await group.waitForAll()
            }
            frames += try await offThePool { stalled.read(for: 15) }
            #expect(stalled.endOfStream, "the edge closed the socket that stopped reading")
            let received = frames.filter { $0["t"]?.stringValue == "MESSAGE_CREATE" }
            #expect(received.count < total, "it was cut off before everything was sent (\(received.count))")
            let lastSeq = frames.compactMap { $0["s"]?.intValue }.max() ?? 0

            let resumed = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            resumed.send(#"{"op":6,"d":{"token":"\#(alice)","session_id":"\#(sessionID)","seq":\#(lastSeq)}}"#)
            let answer = try await resumed.wait(for: "RESUMED or op 9") { $0["t"]?.stringValue == "RESUMED" || $0["op"]?.intValue == 9 }
            #expect(answer["t"]?.stringValue == "RESUMED", "resumed after \(lastSeq), not told to identify again")
            // What the edge had not yet received when the session resumed comes after RESUMED, live.
            try? await eventually("the rest delivered", timeout: .seconds(30)) {
                received.count + resumed.dispatches("MESSAGE_CREATE").count >= total
            }
            let replayed = resumed.dispatches("MESSAGE_CREATE")
            // Short: where the cell's publisher stands says whether the rest was published at all.
            let (published, head) = (try await c.domain.db.cursor(OutboxPublisher.consumer), try await c.domain.db.outboxHead())
            #expect(received.count + replayed.count == total,
                    "\(received.count) before + \(replayed.count) replayed or delivered since; the outbox published through \(published) of \(head)")
            let ids = (received + replayed).compactMap { $0["d"]?["id"]?.stringValue }
            #expect(Set(ids).count == total, "each message exactly once")
            resumed.close()
        }
    }
}
