import ConcordModels
import ConcordRedis
import ConcordStorage
import Foundation

/// The cell's unread counters in its Redis: a copy of what PostgreSQL holds durably, kept so that
/// counting a user's unread messages and mentions never touches the database's read-state rows.
///
/// - `unread:seq` (hash): each channel's message sequence, raised by the outbox sequencer.
/// - `unread:user:<id>` (hash): per channel "version last-message last-seq mentions"; each
///   change carries the version PostgreSQL gave it and only a newer version replaces an entry,
///   so live changes and a rebuild may interleave in any order. Field `~` holds the generation
///   the hash was rebuilt at.
/// - `unread:mass:<channel>` (sorted set, all scores 0): the @everyone/@here message ids,
///   zero-padded so a lexical range counts the ones after a read position; `unread:massgen`
///   records the generation each channel's set was rebuilt at.
/// - `unread:gen`: the generation. Whatever was not rebuilt at the current generation is rebuilt
///   from PostgreSQL when next read, so a flushed Redis (no generation, no markers) rebuilds
///   itself, and a process that failed to write a change (Redis down) bumps the generation as
///   soon as Redis answers again, which invalidates every copy at once. A process starts in that
///   state too: what a crashed predecessor failed to write cannot linger.
public final class UnreadCounters: Sendable {
    let redis: RedisClient
    let prefix: String
    /// After a failed write (or at start), the copy moves to a new generation before anything else.
    private let lostWrites: LostWriteGuard

    public init(redis: RedisClient, cellName: String) {
        self.redis = redis
        self.prefix = "concord:\(cellName):unread:"
        self.lostWrites = LostWriteGuard(redis: redis, renewal: ["EVAL", Self.renewScript, "3", prefix + "gen", prefix + "seq", prefix + "massgen"])
    }

    var generationKey: String { prefix + "gen" }
    var seqKey: String { prefix + "seq" }
    var massGenerationKey: String { prefix + "massgen" }
    func userKey(_ user: Snowflake) -> String { prefix + "user:\(user)" }
    func massKey(_ channel: Snowflake) -> String { prefix + "mass:\(channel)" }

    /// Message ids as fixed-width strings, so lexical order is numeric order.
    static func padded(_ id: Snowflake) -> String {
        let digits = id.description
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    // MARK: Writes after commit

    static let applyScript = """
        for i = 1, #ARGV, 3 do
          local cur = redis.call('HGET', KEYS[(i + 2) / 3], ARGV[i])
          if not cur or tonumber(string.match(cur, '^%d+')) < tonumber(ARGV[i + 1]) then
            redis.call('HSET', KEYS[(i + 2) / 3], ARGV[i], ARGV[i + 1] .. ' ' .. ARGV[i + 2])
          end
        end
        return 0
        """

    static let raiseSeqScript = """
        for i = 1, #ARGV, 2 do
          local cur = redis.call('HGET', KEYS[1], ARGV[i])
          if not cur or tonumber(cur) < tonumber(ARGV[i + 1]) then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
        end
        return 0
        """

    func applyCommand(_ rows: [ReadStateRow]) -> [String] {
        var arguments: [String] = []
        for row in rows {
            arguments += [row.channelID.description, String(row.version), "\(row.lastMessageID) \(row.lastSeq) \(row.mentionCount)"]
        }
        return ["EVAL", Self.applyScript, String(rows.count)] + rows.map { userKey($0.userID) } + arguments
    }

    func raiseCommand(_ seqs: [(channel: Snowflake, seq: Int64)]) -> [String] {
        ["EVAL", Self.raiseSeqScript, "1", seqKey] + seqs.flatMap { [$0.channel.description, String($0.seq)] }
    }

    /// Copies changed read-state rows (newest version wins).
    public func apply(_ rows: [ReadStateRow]) async {
        guard !rows.isEmpty else { return }
        await lostWrites.write(applyCommand(rows))
    }

    /// What a sequencing pass changed, in one round trip (the publisher's every pass writes
    /// both): channels' message sequences raised (never lowered) and read states moved.
    public func record(_ seqs: [(channel: Snowflake, seq: Int64)], _ rows: [ReadStateRow]) async {
        await lostWrites.write(all: (seqs.isEmpty ? [] : [raiseCommand(seqs)]) + (rows.isEmpty ? [] : [applyCommand(rows)]))
    }

    /// Records whether a message mentions @everyone/@here now.
    public func massMention(channel: Snowflake, message: Snowflake, present: Bool) async {
        await lostWrites.write(present ? ["ZADD", massKey(channel), "0", Self.padded(message)] : ["ZREM", massKey(channel), Self.padded(message)])
    }

    static let renewScript = """
        redis.call('DEL', KEYS[2], KEYS[3])
        return redis.call('INCR', KEYS[1])
        """


    // MARK: Reads

    /// Per channel: sequence (-1: not copied yet), the user's entry ("" when none), the count of
    /// mass mentions after the entry's last message (-1: not rebuilt at this generation).
    /// The first element says whether the user's hash is of this generation.
    static let readScript = """
        local gen = redis.call('GET', KEYS[1]) or '0'
        local out = { redis.call('HGET', KEYS[3], '~') == gen and 1 or 0 }
        for i, channel in ipairs(ARGV) do
          local seq = redis.call('HGET', KEYS[2], channel)
          local entry = redis.call('HGET', KEYS[3], channel) or ''
          local mass = -1
          if redis.call('HGET', KEYS[4], channel) == gen then
            local last = string.match(entry, '^%d+ (%d+)') or '0'
            mass = redis.call('ZLEXCOUNT', KEYS[4 + i], '(' .. string.rep('0', 20 - #last) .. last, '+')
          end
          table.insert(out, tonumber(seq or '-1'))
          table.insert(out, entry)
          table.insert(out, mass)
        end
        return out
        """

    /// What Redis holds for a user's channels, and what it lacks.
    struct Snapshot {
        var userCurrent: Bool
        var entries: [ReadStateEntry] = []
        var missingSeqs: [Snowflake] = []
        var missingMass: [Snowflake] = []
        var complete: Bool { userCurrent && missingSeqs.isEmpty && missingMass.isEmpty }
    }

    /// What Redis holds for each user's channels, in one pipelined write for all of them
    /// (sessions identifying together ask together).
    func read(_ asks: [(user: Snowflake, channels: [Snowflake])]) async throws -> [Snapshot] {
        try await lostWrites.renewIfStale()
        let replies = try await redis.pipeline(asks.map { user, channels in
            let keys = [generationKey, seqKey, userKey(user), massGenerationKey] + channels.map(massKey)
            return ["EVAL", Self.readScript, String(keys.count)] + keys + channels.map(\.description)
        })
        guard replies.count == asks.count else { throw RedisError.protocolError }
        return try zip(asks, replies).map { ask, reply in try Self.snapshot(try reply.get(), channels: ask.channels) }
    }

    private static func snapshot(_ reply: RedisValue, channels: [Snowflake]) throws -> Snapshot {
        guard let items = reply.array, let first = items.first?.integer, items.count == 1 + channels.count * 3 else { throw RedisError.protocolError }
        var snapshot = Snapshot(userCurrent: first == 1)
        for (index, channel) in channels.enumerated() {
            let base = 1 + index * 3
            let seq = items[base].integer ?? -1
            let mass = items[base + 2].integer ?? -1
            let fields = (items[base + 1].string ?? "").split(separator: " ").compactMap { Int64($0) }
            if seq < 0 { snapshot.missingSeqs.append(channel) }
            if mass < 0 { snapshot.missingMass.append(channel) }
            let (lastMessage, lastSeq, mentions) = fields.count == 4 ? (fields[1], fields[2], fields[3]) : (0, 0, 0)
            snapshot.entries.append(ReadStateEntry(channelID: channel, lastMessageID: Snowflake(int64: lastMessage),
                                                   mentionCount: Int(mentions) + Int(max(mass, 0)),
                                                   unreadCount: Int(max(seq - lastSeq, 0))))
        }
        return snapshot
    }

    // MARK: Rebuilding from PostgreSQL

    static let clearUserScript = """
        redis.call('DEL', KEYS[2])
        return redis.call('GET', KEYS[1]) or '0'
        """

    static let clearMassScript = """
        for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
        return redis.call('GET', KEYS[1]) or '0'
        """

    static let markMassScript = """
        for i = 1, #ARGV - 1 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[#ARGV]) end
        return 0
        """

    /// Rebuilds what the users' snapshots lacked, for all of them at once: one query per part,
    /// whatever the number of users. Each part is cleared first and read from PostgreSQL after,
    /// so a change committed meanwhile is either in the rows read or applied after the clear;
    /// versions keep the newer of the two.
    func rebuild(_ stale: [(user: Snowflake, snapshot: Snapshot)], db: Database) async throws {
        let users = stale.filter { !$0.snapshot.userCurrent }.map(\.user)
        if !users.isEmpty {
            let generations = try await redis.pipeline(users.map { ["EVAL", Self.clearUserScript, "2", generationKey, userKey($0)] })
                .map { try $0.get().string ?? "0" }
            let rows = try await db.readStateRows(userIDs: users)
            if !rows.isEmpty { _ = try await redis.send(applyCommand(rows)) }
            for reply in try await redis.pipeline(zip(users, generations).map { ["HSET", userKey($0), "~", $1] }) { _ = try reply.get() }
        }
        let missingSeqs = Self.union(stale.map(\.snapshot.missingSeqs))
        if !missingSeqs.isEmpty {
            let seqs = try await db.channelSeqs(missingSeqs)
            if !seqs.isEmpty { _ = try await redis.send(raiseCommand(seqs)) }
        }
        let missingMass = Self.union(stale.map(\.snapshot.missingMass))
        if !missingMass.isEmpty {
            let generation = try await redis.send(["EVAL", Self.clearMassScript, String(missingMass.count + 1), generationKey]
                                                  + missingMass.map(massKey)).string ?? "0"
            let mentions = try await db.massMentions(missingMass)
            if !mentions.isEmpty {
                _ = try await redis.pipeline(mentions.map { ["ZADD", massKey($0.channel), "0", Self.padded($0.message)] })
            }
            _ = try await redis.send(["EVAL", Self.markMassScript, "1", massGenerationKey] + missingMass.map(\.description) + [generation])
        }
    }

    /// The channels named in any of the lists, each once.
    private static func union(_ lists: [[Snowflake]]) -> [Snowflake] {
        var seen: Set<Snowflake> = []
        return lists.joined().filter { seen.insert($0).inserted }
    }

    /// Drops everything copied so far: it is rebuilt from PostgreSQL as it is next used.
    public func renew() async { await lostWrites.renew() }
}
