import ConcordAuth
import ConcordHTTP
import ConcordModels
import Foundation
import HTTPTypes
import Hummingbird

/// One rate-limit window a request was counted in, as Discord's X-RateLimit-* headers tell it.
struct BucketState: Sendable, Equatable {
    var limit: Int
    /// Requests counted in this window, this one included.
    var count: Int
    /// When the window ends, in seconds since the epoch: one instant for every answer in the
    /// window, as Discord's X-RateLimit-Reset is. Clients compare it between answers (hikari
    /// takes a bucket whose reset moves by more than 50 ms, or backwards, for a sliding one and
    /// paces a 5-in-5-s window at one request every 5 s).
    var resetAt: Double
    /// X-RateLimit-Bucket: the same for every major parameter of a route, as Discord's hash is.
    var name: String

    var remaining: Int { max(0, limit - count) }
    var exceeded: Bool { count > limit }
    /// Seconds until the window ends, rounded up to the millisecond.
    var resetAfter: Double { (max(0, resetAt - Date().timeIntervalSince1970) * 1000).rounded(.up) / 1000 }

    func describe(in headers: inout HTTPFields) {
        headers[Self.limit] = String(limit)
        headers[Self.remaining] = String(remaining)
        headers[Self.reset] = Self.seconds(resetAt)
        headers[Self.resetAfter] = Self.seconds(resetAfter)
        headers[Self.bucket] = name
    }

    /// Seconds with three decimals, as Discord writes them ("1.250"); every response carries two,
    /// so without `String(format:)`.
    static func seconds(_ value: Double) -> String {
        let millis = Int64((max(value, 0) * 1000).rounded())
        let fraction = String(millis % 1000)
        return "\(millis / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    private static let limit = HTTPField.Name("X-RateLimit-Limit")!
    private static let remaining = HTTPField.Name("X-RateLimit-Remaining")!
    private static let reset = HTTPField.Name("X-RateLimit-Reset")!
    private static let resetAfter = HTTPField.Name("X-RateLimit-Reset-After")!
    private static let bucket = HTTPField.Name("X-RateLimit-Bucket")!
}

/// Discord's limits: per user, a global budget across every route and one per route and major
/// parameter, counted in fixed windows in the user's home cell's Redis so that every edge in
/// every region draws on the same budget (in the edge's memory while that Redis is
/// unreachable). Anonymous callers are limited per address by the edge they reach; an address
/// that keeps getting 401, 403 and 429 is refused outright for the rest of a 10-minute window.
extension EdgeAPI {
    /// Verifies the token and counts the request: the revocation check and every window in one
    /// round trip to the caller's home Redis. Where that Redis cannot vouch for the token (down,
    /// or its revoked set not yet refilled), the home cell's database does; if neither answers,
    /// the request is refused (503) rather than let a revoked token in. Windows the Redis did
    /// not count are counted in the edge's memory.
    func authenticateAndCount(_ route: Route, authorization: String?) async throws -> (TokenClaims, BucketState) {
        guard let claims = tokens.authenticate(authorizationHeader: authorization) else { throw APIError.unauthorized }
        let home = directory.entry(for: claims.userID.cell)
        let windows = windows(of: route)
        let keys = home.map { home in windows.map { Topics.rateLimit(claims.userID, bucket: $0.bucket, cell: home.cell.name) } } ?? []
        var (revoked, counted): (Bool?, [(count: Int, resetAt: Double)]?) = (nil, nil)
        if let home {
            (revoked, counted) = await directory.admit(claims, windows: zip(keys, windows).map { ($0, Int($1.seconds * 1000)) }, at: home)
        }
        if revoked == nil { revoked = try? await gateway.send(InternalAPI.isRevoked(token: claims.tokenID), to: claims.userID.cell) }
        guard let revoked else {
            logger.warning("revocation check failed", metadata: ["cell": "\(claims.userID.cell)"])
            throw APIError.serviceUnavailable
        }
        if revoked {
            if let home, counted != nil { await directory.uncount(keys, at: home) }
            throw APIError.unauthorized
        }
        return (claims, try rateLimit(route, claims: claims, counted: counted))
    }

    /// Judges a verified caller's request by its windows as counted (in the edge's memory where
    /// they were not); answers the route's window (for the response's headers) or throws a 429.
    /// `counted`: each window's count and end (seconds since the epoch).
    func rateLimit(_ route: Route, claims: TokenClaims, counted: [(count: Int, resetAt: Double)]? = nil) throws -> BucketState {
        let windows = windows(of: route)
        let counted = counted ?? windows.map { window in
            let (count, resetAfter) = limiter.count("\(claims.userID):\(window.bucket)", window: window.seconds)
            return (count, Date().timeIntervalSince1970 + resetAfter)
        }
        let global = BucketState(limit: windows[0].limit, count: counted[0].count, resetAt: counted[0].resetAt, name: "global")
        let own = BucketState(limit: windows[1].limit, count: counted[1].count, resetAt: counted[1].resetAt,
                              name: route.endpoint.rawValue)
        if global.exceeded { throw APIError.rateLimited(retryAfter: global.resetAfter, global: true) }
        if own.exceeded { throw RouteLimited(bucket: own) }
        return own
    }

    /// A user's two windows: the global budget across every route, and the route's own.
    private func windows(of route: Route) -> [(bucket: String, limit: Int, seconds: Double)] {
        let perWindow = route.endpoint == .createMessage ? limits.message_sends_per_5s : limits.routeRequestsPer5s
        return [(bucket: "global", limit: Int(limits.requests_per_second), seconds: 1.0),
                (bucket: route.rateLimitKey, limit: Int(perWindow), seconds: 5.0)]
    }

    /// A 429 of a route's window: the response carries that window's headers.
    struct RouteLimited: Error {
        var bucket: BucketState
        var response: Response {
            var response = JSONResponse.error(.rateLimited(retryAfter: bucket.resetAfter, global: false))
            bucket.describe(in: &response.headers)
            return response
        }
    }

    /// Anonymous requests are counted per client address, the cheap public routes apart from
    /// login and register, so a flood of one never locks anyone out of the other; each account
    /// name also has its own login budget, whoever tries it (brute force from many addresses).
    func limitAnonymous(_ route: Route, client: String, body: Data) throws {
        func take(_ key: String, perSecond: Double, burst: Double) throws {
            if let wait = limiter.take(key, rate: perSecond, burst: burst) { throw APIError.rateLimited(retryAfter: wait, global: false) }
        }
        switch route.endpoint {
        case .login, .register:
            try take("auth:\(client)", perSecond: limits.authPerMinute / 60, burst: limits.authPerMinute)
            if route.endpoint == .login, let login = try? WireJSON.decode(LoginRequest.self, from: body) {
                try take("login:\(login.login.lowercased())", perSecond: limits.loginsPerMinute / 60, burst: limits.loginsPerMinute)
            }
        default:
            try take("public:\(client)", perSecond: limits.publicPerSecond, burst: limits.publicPerSecond * 2)
        }
    }

    static let invalidRequestWindow = 600.0
    private var scopeHeader: HTTPField.Name { HTTPField.Name("X-RateLimit-Scope")! }

    /// Refuses every request from an address that has had too many 401, 403 and 429 answers
    /// in the current 10-minute window.
    func invalidRequestRefusal(_ client: String) -> Response? {
        let (count, resetAfter) = limiter.count("invalid:\(client)", window: Self.invalidRequestWindow, adding: 0)
        guard count >= limits.invalidRequestsPer10Minutes else { return nil }
        return JSONResponse.error(.rateLimited(retryAfter: resetAfter, global: true))
    }

    func countIfInvalid(_ response: Response, client: String) {
        guard [401, 403, 429].contains(response.status.code) else { return }
        if response.status.code == 429 {
            rateLimitedAnswers.add(1, ordering: .relaxed)
            metrics.counter(.rateLimited, [("scope", response.headers[scopeHeader] ?? "user")]).increment()
        }
        _ = limiter.count("invalid:\(client)", window: Self.invalidRequestWindow)
    }
}
