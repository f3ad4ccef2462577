import ConcordModels
import ConcordRedis
import Foundation

/// Presence lives in the user's home cell's Redis: a sorted set of expiry times (edges refresh
/// it in batches while the user has live sessions) and a hash of chosen states. Every change is
/// decided by one atomic script, so a user coming online through two edges at once, or expiring
/// while a sweeper runs twice, produces exactly one PRESENCE_UPDATE. Presence is soft state:
/// published straight to Redis, not kept in the outbox.
extension CellDomain {
    /// Sets the state; answers what the user's presence was before (nil: unchanged).
    static let reportScript = """
        local added = redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
        local old = redis.call('HGET', KEYS[2], ARGV[1])
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
        if added == 1 then return 'offline' end
        if old ~= ARGV[3] then return old or 'offline' end
        return false
        """

    /// Removes presences whose time has passed; answers user, old state, user, old state, …
    static let sweepScript = """
        local users = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 500)
        local out = {}
        for _, user in ipairs(users) do
          redis.call('ZREM', KEYS[1], user)
          local old = redis.call('HGET', KEYS[2], user)
          redis.call('HDEL', KEYS[2], user)
          table.insert(out, user)
          table.insert(out, old or 'offline')
        end
        return out
        """

    var presenceKeys: [String] { [Topics.presenceExpiry(cell: cellName), Topics.presenceState(cell: cellName)] }

    /// An edge says the user is online (a first session there) or chose another status.
    public func reportPresence(_ report: PresenceReport) async throws {
        let state = try WireJSON.encodeString(report.state)
        let reply = try await redis.send(["EVAL", Self.reportScript, "2"] + presenceKeys
                                         + [report.user_id.description, String(report.expires_at), state])
        guard let old = reply.string else { return }
        try await presenceChanged(report.user_id, from: PresenceState(stored: old), to: report.state)
    }

    /// Ends the presences nobody refreshed in time (their sessions stopped heartbeating, or the
    /// edge holding them died); returns how many ended.
    public func sweepPresences(now: Date = Date()) async throws -> Int {
        let reply = try await redis.send(["EVAL", Self.sweepScript, "2"] + presenceKeys + [String(Int64(now.timeIntervalSince1970 * 1000))])
        let items = reply.array ?? []
        for pair in stride(from: 0, to: items.count - 1, by: 2) {
            guard let user = items[pair].string.flatMap(Snowflake.init) else { continue }
            try await presenceChanged(user, from: PresenceState(stored: items[pair + 1].string ?? "offline"), to: .offline)
        }
        return items.count / 2
    }

    /// The stored states of some users (nil: no live presence), one HMGET.
    func storedPresences(of users: [Snowflake]) async throws -> [(user: Snowflake, state: String?)] {
        guard !users.isEmpty else { return [] }
        let reply = try await redis.send(["HMGET", Topics.presenceState(cell: cellName)] + users.map(\.description))
        return Array(zip(users, (reply.array ?? []).map(\.string)))
    }

    /// GUILD_CREATE's `presences`: the members online, as others see them.
    func presenceList(of users: [Snowflake], guild: Snowflake) async throws -> [JSONValue] {
        PresenceUpdatePayload.listed(try await storedPresences(of: users), guild: guild)
    }

    /// A user who is online joined a workspace: its members hear it, and its count includes them.
    func announcePresence(of user: Snowflake, joining guild: Snowflake) async throws {
        guard let text = try await storedPresences(of: [user]).first?.state, case let state = PresenceState(stored: text).visible,
              state.status != .offline else { return }
        _ = try await redis.send("SADD", Topics.presenceOnline(guild, cell: cellName), user.description)
        let update = try event("PRESENCE_UPDATE", guild: guild, channel: nil, PresenceUpdatePayload(userID: user, guildID: guild, state: state))
        _ = try await redis.send("PUBLISH", Topics.workspace(guild, cell: cellName), OutboxEvent.wireJSON(seq: nil, event: update))
    }

    /// How many members of a workspace others see online, without scanning its members.
    public func onlineCount(_ guild: Snowflake) async throws -> Int {
        Int(try await redis.send("SCARD", Topics.presenceOnline(guild, cell: cellName)).integer ?? 0)
    }

    /// Tells the user's own sessions their real status, and the workspaces they are in what
    /// others may see — only when that changed (going invisible looks like going offline).
    private func presenceChanged(_ user: Snowflake, from old: PresenceState, to new: PresenceState) async throws {
        if old != new {
            let own = try event("PRESENCE_UPDATE", guild: nil, channel: nil, user: user, PresenceUpdatePayload(userID: user, guildID: nil, state: new))
            _ = try await redis.send("PUBLISH", Topics.user(user, cell: cellName), OutboxEvent.wireJSON(seq: nil, event: own))
        }
        guard old.visible != new.visible else { return }
        for workspace in try await db.workspaces(memberID: user) {
            let online = Topics.presenceOnline(workspace.id, cell: cellName)
            _ = try await redis.send(new.visible.status == .offline ? "SREM" : "SADD", online, user.description)
            let update = try event("PRESENCE_UPDATE", guild: workspace.id, channel: nil,
                                   PresenceUpdatePayload(userID: user, guildID: workspace.id, state: new.visible))
            _ = try await redis.send("PUBLISH", Topics.workspace(workspace.id, cell: cellName), OutboxEvent.wireJSON(seq: nil, event: update))
        }
    }
}
