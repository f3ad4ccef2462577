import ConcordModels
import Foundation
import Testing

/// Discord's rate limits as its documentation tells them: fixed windows per route and major
/// parameter and a global one per user, counted in the user's home Redis so every edge draws on
/// one budget, described by X-RateLimit-* headers on every answer; and the invalid-request limit.
@Suite("Rate limits")
struct RateLimitTests {
    static func limits(perSecond: Double = 1000, sendsPer5s: Double = 1000) -> ClusterConfig.RateLimits {
        ClusterConfig.RateLimits(requestsPerSecond: perSecond, messageSendsPer5s: sendsPer5s, publicRequestsPerSecond: 10_000,
                                 authRequestsPerMinute: 1_000_000, loginsPerMinutePerAccount: 1_000_000)
    }

    @Test func aRouteWindowIsSharedByEveryEdgeAndDescribedOnEveryAnswer() async throws {
        try await TestCluster.with(edges: 2, rateLimits: Self.limits(sendsPer5s: 3)) { c in
            let (aliceID, alice) = try await c.register("alice")
            let guild = try await c.domain.createWorkspace(GuildCreateRequest(name: "Windows"), ownerID: aliceID)
            let path = "/channels/\(guild.system_channel_id!)/messages"
            // Sent at once, alternating edges (a budget kept by each edge would let all four
            // through), so a slow machine cannot let the 5-second window end between them.
            let replies = try await withThrowingTaskGroup(of: TestCluster.Reply.self) { group in
                for i in 0..<4 {
                    group.addTask { try await c.request(.POST, path, token: alice, body: MessageCreateRequest(content: "\(i)"), edge: i % 2) }
                }
                return try await group.reduce(into: [TestCluster.Reply]()) { $0.append($1) }
            }
            #expect(replies.map(\.status).sorted() == [200, 200, 200, 429], "\(replies.map(\.status))")
            #expect(replies.compactMap { $0.headers["X-RateLimit-Remaining"].first }.sorted() == ["0", "0", "1", "2"])
            var resets: [Double] = []
            for reply in replies {
                #expect(reply.headers["X-RateLimit-Limit"].first == "3")
                #expect(reply.headers["X-RateLimit-Bucket"].first == "createMessage")
                let resetAfter = try #require(reply.headers["X-RateLimit-Reset-After"].first.flatMap(Double.init))
                #expect(resetAfter > 0 && resetAfter <= 5)
                resets.append(try #require(reply.headers["X-RateLimit-Reset"].first.flatMap(Double.init)))
            }
            // Reset is the epoch second the one window ends: the same for all four to the
            // millisecond, whichever edge and however far apart the answers were made (hikari
            // paces a bucket whose reset moves as a sliding one: one send every 5 s), and at most
            // 5 s from now.
            #expect(Set(resets).count == 1, "\(resets)")
            #expect(resets.min()! > Date().timeIntervalSince1970 - 5 && resets.max()! <= Date().timeIntervalSince1970 + 5.1)
            let refused = try #require(replies.first { $0.status == 429 })
            #expect(refused.headers["X-RateLimit-Scope"].first == "user")
            #expect(refused.headers["X-RateLimit-Global"].isEmpty)
            #expect((refused.headers["Retry-After"].first.flatMap(Int.init) ?? 0) >= 1)
            #expect(refused.json?["global"] == .bool(false))
            // Another route, its own window (50 a route in 5 s by default).
            let list = try await c.request(.GET, path, token: alice)
            #expect(list.headers["X-RateLimit-Bucket"].first == "listMessages")
            #expect(list.headers["X-RateLimit-Limit"].first == "50" && list.headers["X-RateLimit-Remaining"].first == "49")
        }
    }

    @Test func theGlobalLimitIsPerUserAcrossRoutesAndEdges() async throws {
        try await TestCluster.with(edges: 2, rateLimits: Self.limits(perSecond: 5)) { c in
            let (_, alice) = try await c.register("alice")
            let replies = try await withThrowingTaskGroup(of: TestCluster.Reply.self) { group in
                for i in 0..<40 { group.addTask { try await c.request(.GET, i % 3 == 0 ? "/users/@me/guilds" : "/users/@me", token: alice, edge: i % 2) } }
                return try await group.reduce(into: [TestCluster.Reply]()) { $0.append($1) }
            }
            // Five a second, whichever edge and route: forty at once span a few seconds at most.
            let passed = replies.filter { $0.status == 200 }.count
            #expect(passed >= 5 && passed < 40 && passed + replies.filter { $0.status == 429 }.count == 40, "\(passed) of 40 passed")
            let refused = try #require(replies.first { $0.status == 429 })
            #expect(refused.headers["X-RateLimit-Global"].first == "true")
            #expect(refused.headers["X-RateLimit-Scope"].first == "global")
            #expect(refused.json?["global"] == .bool(true))
        }
    }

    /// The token's check and the request's count are one call to the home Redis: a revoked
    /// token's requests are refused without spending its user's budget, and a live token's
    /// request is counted once in each window.
    @Test func aRevokedTokenSpendsNothingOfItsUsersBudget() async throws {
        try await TestCluster.with(rateLimits: Self.limits()) { c in
            let (_, old) = try await c.register("alice")
            let login = try await c.request(.POST, "/auth/login", body: LoginRequest(login: "alice", password: "correct horse battery"))
            let fresh = try #require(login.json?["token"]?.stringValue)
            #expect(try await c.domain.revokeTokens(token: old).count == 1)
            for _ in 0..<3 { #expect(try await c.request(.GET, "/users/@me", token: old).status == 401) }
            let reply = try await c.request(.GET, "/users/@me", token: fresh)
            #expect(reply.status == 200)
            #expect(reply.headers["X-RateLimit-Limit"].first == "50" && reply.headers["X-RateLimit-Remaining"].first == "49",
                    "\(reply.headers["X-RateLimit-Remaining"])")
        }
    }

    /// Too many 401, 403 and 429 answers to one address in 10 minutes, and that address is
    /// refused outright, whatever it asks and with whatever token, until the window ends.
    @Test func anAddressWithTooManyInvalidRequestsIsRefused() async throws {
        var limits = Self.limits()
        limits.invalid_requests_per_10_minutes = 5
        try await TestCluster.with(edges: 2, rateLimits: limits) { c in
            let (_, alice) = try await c.register("alice")
            for _ in 0..<5 { #expect(try await c.request(.GET, "/users/@me", token: "Bot not-a-token").status == 401) }
            let blocked = try await c.request(.GET, "/users/@me", token: alice)
            #expect(blocked.status == 429 && blocked.headers["X-RateLimit-Global"].first == "true", "\(blocked.status)")
            #expect((blocked.headers["Retry-After"].first.flatMap(Int.init) ?? 0) > 500, "until the 10-minute window ends")
            #expect(try await c.request(.GET, "/gateway").status == 429, "anonymous requests too")
            // Each edge counts the addresses that reach it.
            #expect(try await c.request(.GET, "/users/@me", token: alice, edge: 1).status == 200)
        }
    }
}
