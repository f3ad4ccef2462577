import ConcordAuth
import ConcordModels
import Foundation
import Synchronization
@testable import ConcordEdge
import Testing

@Suite("Rate limiter")
struct RateLimiterTests {
    final class FakeClock: Sendable {
        let now = Mutex(0.0)
        func advance(_ s: Double) { now.withLock { $0 += s } }
    }

    @Test func bucketsRefillAtTheirRate() {
        let clock = FakeClock()
        let limiter = RateLimiter(clock: { clock.now.withLock { $0 } })
        for _ in 0..<5 { #expect(limiter.take("k", rate: 1, burst: 5) == nil) }
        let wait = limiter.take("k", rate: 1, burst: 5)
        #expect(wait != nil && wait! > 0.99 && wait! <= 1)
        #expect(limiter.take("other", rate: 1, burst: 5) == nil, "keys are independent")
        clock.advance(2)
        #expect(limiter.take("k", rate: 1, burst: 5) == nil)
        #expect(limiter.take("k", rate: 1, burst: 5) == nil)
        #expect(limiter.take("k", rate: 1, burst: 5) != nil)
        clock.advance(120)
        limiter.sweep(idleFor: 60)
        #expect(limiter.count == 0)
    }

    /// Budgets belong to the user: a second token (logging in again) shares the first one's.
    /// Anonymous budgets belong to the address, login apart from the cheap public routes.
    @Test func budgetsArePerUserAndPerAddress() async throws {
        let api = EdgeAPI(directory: try CellDirectory(config: ClusterConfig(regions: ["local"], cells: [
            .init(id: 1, name: "c1", region: "local", postgres: .init(host: "127.0.0.1", port: 1, database: "x", user: "x"),
                  redis: .init(host: "127.0.0.1", port: 1), api: .init(host: "127.0.0.1", port: 1)),
        ], edges: []), region: "local"), tokens: TokenAuthority(secret: Array(repeating: 7, count: 32)), internalSecret: "s",
                          limits: .init(requestsPerSecond: 5, messageSendsPer5s: 5, publicRequestsPerSecond: 2, authRequestsPerMinute: 3,
                                        loginsPerMinutePerAccount: 2),
                          publicURL: "http://127.0.0.1:1",
                          // Time stands still: the budgets are counted, not raced (a loaded machine
                          // once let a window end between the sixth request and the fifth).
                          clock: { 1_000 })
        defer { Task { await api.shutdown() } }
        let user = Snowflake(1 << 22 | 1 << 16)
        let (first, second) = (TokenClaims(userID: user, tokenID: Snowflake(10), kind: .user), TokenClaims(userID: user, tokenID: Snowflake(11), kind: .user))
        // The cell's Redis is unreachable here: users' windows are counted in the edge's memory.
        func allowed(_ route: Route, _ claims: TokenClaims?, client: String = "a", body: String = "") async -> Bool {
            do {
                if let claims { _ = try api.rateLimit(route, claims: claims) } else { try api.limitAnonymous(route, client: client, body: Data(body.utf8)) }
                return true
            } catch { return false }
        }
        let route = try RouteTable.match(method: "GET", path: "/api/v10/users/@me")
        for _ in 0..<3 { #expect(await allowed(route, first)) }
        for _ in 0..<2 { #expect(await allowed(route, second)) }
        #expect(!(await allowed(route, second)), "the second token shares the first one's five")
        #expect(!(await allowed(route, first)))

        let gateway = try RouteTable.match(method: "GET", path: "/api/v10/gateway")
        let login = try RouteTable.match(method: "POST", path: "/api/v10/auth/login")
        for _ in 0..<4 { #expect(await allowed(gateway, nil)) }
        #expect(!(await allowed(gateway, nil)), "four public requests from one address, then limited")
        #expect(await allowed(gateway, nil, client: "b"), "another address has its own budget")
        #expect(await allowed(login, nil, body: #"{"login":"bob","password":"x"}"#), "login is not starved by the public routes")
        #expect(await allowed(login, nil, client: "c", body: #"{"login":"bob","password":"y"}"#))
        #expect(!(await allowed(login, nil, client: "d", body: #"{"login":"BOB","password":"z"}"#)), "an account's budget, whatever the address")
        #expect(await allowed(login, nil, client: "d", body: #"{"login":"carol","password":"z"}"#))
    }
}
