import ConcordAuth
import ConcordHTTP
import ConcordModels
import ConcordObservability
import ConcordRedis
import Foundation
import NIOSSL

/// How the edge reaches each cell: its internal API base URL and its Redis. Which cell owns a
/// route comes from the ids in it (their cell bits); requests about the caller go to the
/// caller's home cell.
public struct CellDirectory: Sendable {
    public struct Entry: Sendable {
        public var cell: ClusterConfig.Cell
        public var baseURL: String
        public var redis: RedisClient
        /// The Redis address from this edge's region (for its subscriber connection).
        public var redisAddress: ClusterConfig.Endpoint
        /// TLS to that Redis, where the cell has it.
        public var redisTLS: NIOSSLContext?
    }
    let entries: [Int: Entry]
    /// For the subscriptions opened beside each entry's client.
    let redisCredentials: RedisCredentials?
    /// Where moved workspaces live now.
    public let moves = WorkspaceDirectory()
    /// Where requests with no owner (register, login) go: the first cell of the edge's region.
    let defaultCell: Int

    /// `process`: the edge's name, whose certificate it shows where the cluster has internal TLS.
    /// `metrics`: where each cell's Redis round trips and reconnects are counted.
    public init(config: ClusterConfig, region: String?, redis credentials: RedisCredentials? = nil, process: String = "edge",
                metrics: NodeMetrics? = nil) throws {
        var entries: [Int: Entry] = [:]
        for cell in config.cells {
            // Cells of another region are reached over the inter-region link.
            let redis = cell.redis(from: region ?? cell.region)
            let redisTLS = try InternalTLS.redis(cell, tls: config.internal_tls, process: process)
            entries[cell.id] = Entry(cell: cell, baseURL: cell.apiURL(from: region ?? cell.region, secure: config.internal_tls != nil),
                                     redis: RedisClient(host: redis.host, port: redis.port, user: credentials?.user, password: credentials?.password, tls: redisTLS,
                                                        observer: metrics.map { RedisMetrics($0, cell: cell.name) }),
                                     redisAddress: redis, redisTLS: redisTLS)
        }
        self.redisCredentials = credentials
        self.entries = entries
        defaultCell = (config.cells.first { $0.region == region } ?? config.cells[0]).id
    }

    public func entry(for cellID: Int?) -> Entry? {
        entries[cellID ?? defaultCell]
    }

    public var all: [Entry] { Array(entries.values) }

    /// The cell that owns what a route touches, after moves; the caller's own cell for routes about the caller.
    func owner(of route: Route, caller: Snowflake?) -> Entry? {
        entry(for: moves.owner(of: route) ?? caller?.cell)
    }

    /// Whether verified tokens have been revoked, asked of their users' home cells' Redis in one
    /// round trip per cell (sessions identifying together). Nil where that Redis cannot answer
    /// or vouch: callers ask the cell or refuse the token, never guess.
    public func areRevoked(_ claims: [TokenClaims]) async -> [Bool?] {
        var answers = [Bool?](repeating: nil, count: claims.count)
        for (cell, indices) in Dictionary(grouping: claims.indices, by: { claims[$0].userID.cell }) {
            guard let home = entry(for: cell) else { continue }
            let commands = indices.map { Self.membershipCheck(claims[$0], at: home) } + [Self.completenessCheck(at: home)]
            guard let replies = try? await home.redis.pipeline(commands), replies.count == commands.count else { continue }
            let loaded = (try? replies[indices.count].get())?.integer
            for (position, index) in indices.enumerated() {
                answers[index] = Self.revoked(member: (try? replies[position].get())?.integer, loaded: loaded)
            }
        }
        return answers
    }

    /// Whether the token is in the home's revoked set, and whether that set is known complete.
    private static func revocationCheck(_ claims: TokenClaims, at home: Entry) -> [[String]] {
        [membershipCheck(claims, at: home), completenessCheck(at: home)]
    }

    private static func membershipCheck(_ claims: TokenClaims, at home: Entry) -> [String] {
        ["SISMEMBER", Topics.revokedTokens(cell: home.cell.name), claims.tokenID.description]
    }

    private static func completenessCheck(at home: Entry) -> [String] {
        ["EXISTS", Topics.revokedTokensLoaded(cell: home.cell.name)]
    }

    /// The answer to `revocationCheck`: nil when the set cannot vouch (or a reply is missing). A
    /// Redis whose revoked set is not marked complete (it was flushed or replaced and the cell
    /// has not refilled it yet) cannot vouch for a token.
    private static func revoked(member: Int64?, loaded: Int64?) -> Bool? {
        guard let member, loaded == 1 else { return nil }
        return member == 1
    }

    /// The revocation check and the count of one request in each window (INCR, PEXPIRE NX and
    /// PEXPIRETIME, as a window is counted anywhere), in one round trip to the home cell's Redis:
    /// the request path's only Redis call. `revoked` is nil where that Redis cannot vouch for the
    /// token (see `isRevoked`); `counted` (each window's count so far and when it ends, in
    /// seconds since the epoch, the same for every request in it) is nil where it did not count.
    func admit(_ claims: TokenClaims, windows: [(key: String, milliseconds: Int)],
               at home: Entry) async -> (revoked: Bool?, counted: [(count: Int, resetAt: Double)]?) {
        let commands = Self.revocationCheck(claims, at: home)
            + windows.flatMap { [["INCR", $0.key], ["PEXPIRE", $0.key, String($0.milliseconds), "NX"], ["PEXPIRETIME", $0.key]] }
        guard let replies = try? await home.redis.pipeline(commands), replies.count == commands.count else { return (nil, nil) }
        let integers = replies.map { (try? $0.get())?.integer }
        let revoked = Self.revoked(member: integers[0], loaded: integers[1])
        // A window that ended between the INCR and PEXPIRETIME (-2: gone) ends now.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let counted = windows.indices.compactMap { i -> (Int, Double)? in
            guard let count = integers[2 + 3 * i], let ends = integers[4 + 3 * i] else { return nil }
            return (Int(count), Double(max(ends, now)) / 1000)
        }
        return (revoked, counted.count == windows.count ? counted : nil)
    }

    /// Takes back what `admit` counted for a token found revoked: whoever holds an old token
    /// cannot spend its user's budget.
    func uncount(_ keys: [String], at home: Entry) async {
        _ = try? await home.redis.pipeline(keys.map { ["DECR", $0] })
    }
}
