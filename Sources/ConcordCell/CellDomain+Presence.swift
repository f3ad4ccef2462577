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
        try await reportPresences([report])
    }

    /// Reports from an edge (sessions identifying together), each decided by the script, in
    /// one pipeline; what changed is told in one more.
    public func reportPresences(_ reports: [PresenceReport]) async throws {
        guard !reports.isEmpty else { return }
        let states = try reports.map { try WireJSON.encodeString($0.state) }
        let replies = try await redis.pipeline(zip(reports, states).map { report, state in
            ["EVAL", Self.reportScript, "2"] + presenceKeys + [report.user_id.description, String(report.expires_at), state]
        })
        var changes: [PresenceChange] = []
        for (report, reply) in zip(reports, replies) {
            guard let old = try reply.get().string else { continue }
            changes.append(PresenceChange(user: report.user_id, old: PresenceState(stored: old), new: report.state))
        }
        try await presencesChanged(changes)
    }

    /// Ends the presences nobody refreshed in time (their sessions stopped heartbeating, or the
    /// edge holding them died); returns how many ended.
    public func sweepPresences(now: Date = Date()) async throws -> Int {
        let reply = try await redis.send(["EVAL", Self.sweepScript, "2"] + presenceKeys + [String(Int64(now.timeIntervalSince1970 * 1000))])
        let items = reply.array ?? []
        let changes = stride(from: 0, to: items.count - 1, by: 2).compactMap { pair in
            items[pair].string.flatMap(Snowflake.init).map {
                PresenceChange(user: $0, old: PresenceState(stored: items[pair + 1].string ?? "offline"), new: .offline)
            }
        }
        try await presencesChanged(changes)
        return items.count / 2
    }

    /// The stored states of some users (nil: no live presence), one HMGET.
    func storedPresences(of users: [Snowflake]) async throws -> [(user: Snowflake, state: String?)] {
        guard !users.isEmpty else { return [] }
        let reply = try await redis.send(["HMGET", Topics.presenceState(cell: cellName)] + users.map(\.description))
        return Array(zip(users, (reply.array ?? []).map(\.string)))
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

    /// Tells each user's own sessions their real status, and the workspaces they are in what
    /// others may see — only when that changed (going invisible looks like going offline): one
    /// read of the workspaces and one pipeline for every change.
    private func presencesChanged(_ changes: [PresenceChange]) async throws {
        var commands: [[String]] = []
        for change in changes where change.old != change.new {
            let own = try event("PRESENCE_UPDATE", guild: nil, channel: nil, user: change.user,
                                PresenceUpdatePayload(userID: change.user, guildID: nil, state: change.new))
            commands.append(["PUBLISH", Topics.user(change.user, cell: cellName), OutboxEvent.wireJSON(seq: nil, event: own)])
        }
        let seen = changes.filter { $0.old.visible != $0.new.visible }
        let workspaces = Dictionary(grouping: try await db.workspaceIDs(memberIDs: seen.map(\.user)), by: \.userID)
        for change in seen {
            for (_, workspace) in workspaces[change.user, default: []] {
                commands.append([change.new.visible.status == .offline ? "SREM" : "SADD", Topics.presenceOnline(workspace, cell: cellName),
                                 change.user.description])
                let update = try event("PRESENCE_UPDATE", guild: workspace, channel: nil,
                                       PresenceUpdatePayload(userID: change.user, guildID: workspace, state: change.new.visible))
                commands.append(["PUBLISH", Topics.workspace(workspace, cell: cellName), OutboxEvent.wireJSON(seq: nil, event: update)])
            }
        }
        guard !commands.isEmpty else { return }
        for reply in try await redis.pipeline(commands) { _ = try reply.get() }
    }
}

/// A user's presence as it was and as it is now.
struct PresenceChange {
    var user: Snowflake
    var old: PresenceState
    var new: PresenceState
}
