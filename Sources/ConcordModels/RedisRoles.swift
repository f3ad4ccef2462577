/// Who a process is to a Redis: each role logs in as an ACL user of its own that may run only
/// the commands it needs on only its cells' keys and channels, so a compromised edge cannot
/// flush a cell's counters or read what it has no business with.
public enum RedisRole: String, CaseIterable, Sendable {
    /// Revocation checks, rate-limit windows, presence refreshes, session hand-overs, and the
    /// subscriptions that feed the gateway.
    case edge
    /// Everything a cell keeps in its own Redis (hot messages, unread counters, presence,
    /// revocations, publishing its outbox), short of administration.
    case cell
    /// Wakes on other cells' outbox positions; reads nothing else.
    case relay

    /// The ACL user's name.
    public var user: String { "concord-" + rawValue }
    /// The environment variable holding this role's password.
    public var passwordVariable: String { "CONCORD_REDIS_\(rawValue.uppercased())_PASSWORD" }

    /// The commands beyond AUTH and HELLO (every user may run those).
    public var commands: [String] {
        switch self {
        case .edge: ["ping", "subscribe", "unsubscribe", "exists", "get", "getdel", "set", "incr", "decr", "pexpire", "pexpiretime", "pttl",
                     "sismember", "hmget", "zadd"]
        case .cell: ["@all", "-@admin", "-@dangerous"]
        case .relay: ["ping", "subscribe", "unsubscribe"]
        }
    }

    /// The ACL rules of this role's user (without its password) on a Redis holding `cells`' keys.
    public func rules(cells: [String]) -> [String] {
        var rules = ["on", "resetkeys", "resetchannels"]
        switch self {
        case .edge, .cell:
            rules += cells.flatMap { ["~concord:\($0):*", "&concord:\($0):*"] }
        case .relay:
            rules += cells.map { "&" + Topics.outbox(cell: $0) }
        }
        rules.append("-@all")
        rules += commands.map { $0.hasPrefix("-") ? $0 : "+" + $0 }
        return rules
    }
}

/// How a process logs in to Redis: an ACL user and its password, or Redis's default user.
public struct RedisCredentials: Sendable, Equatable {
    public var user: String?
    public var password: String
    public init(user: String?, password: String) { self.user = user; self.password = password }
}
