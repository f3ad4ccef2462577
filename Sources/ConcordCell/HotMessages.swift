import ConcordModels
import ConcordRedis
import ConcordStorage
import Foundation

/// The hot tier: each active channel's latest messages, rendered, in the cell's Redis.
///
/// - `hot:<gen>:<channel>` (list, newest first): "id json" entries, at most `perChannel` of them,
///   ending with "~" when the list reaches back to the channel's first message. It always holds
///   a channel's latest messages without a gap, or does not exist.
/// - `hot:version:<channel>`: raised by every change of the channel's history. A channel's
///   version as readers see it is "generation.version"; a fill (read from the database) is stored
///   only if it did not move while it was read, so a fill can never put back what an edit or
///   deletion removed (and pages kept in memory by Flights are keyed by it too).
/// - `hot:lru` (sorted set): channels by last use; past `maxChannels` the least recently used
///   lists are dropped first.
/// - `hot:gen`: lists live under the current generation (started from the clock when missing). A process that failed to write to
///   Redis (a new message it could not add, an edit it could not remove) moves the generation
///   on as soon as Redis answers again, which drops every list at once; a process starts that way.
public final class HotMessages: Sendable {
    let redis: RedisClient
    let prefix: String
    let perChannel: Int
    let maxChannels: Int
    /// Lists expire when nobody reads or writes them for this long (orphans of old generations too).
    let idleSeconds = 3600
    /// After a lost write (or at start) every list is moved aside before anything else.
    private let lostWrites: LostWriteGuard

    public init(redis: RedisClient, cellName: String, perChannel: Int, maxChannels: Int) {
        self.redis = redis
        self.prefix = "concord:\(cellName):hot:"
        self.perChannel = perChannel
        self.maxChannels = maxChannels
        self.lostWrites = LostWriteGuard(redis: redis, renewal: ["EVAL", Self.renewScript, "2", prefix + "gen", prefix + "lru"])
    }

    var versionPrefix: String { prefix + "version:" }
    func versionKey(_ channel: Snowflake) -> String { versionPrefix + "\(channel)" }
    var lruKey: String { prefix + "lru" }
    var generationKey: String { prefix + "gen" }

    /// Every script finds the channel's list under the current generation itself: a process
    /// never acts on a generation another process has moved past. A Redis that lost the
    /// generation (flushed, or restarted empty) starts a new one from its clock, never one a
    /// version seen before could belong to.
    static let listOfChannel = """
        local function generation()
          local g = redis.call('GET', KEYS[1])
          if not g then
            local t = redis.call('TIME')
            g = t[1] .. string.format('%06d', tonumber(t[2]))
            redis.call('SET', KEYS[1], g)
          end
          return g
        end
        local function list_of(channel) return ARGV[1] .. generation() .. ':' .. channel end
        local function version() return generation() .. '.' .. (redis.call('GET', KEYS[2]) or '0') end
        """

    // MARK: Reads

    static let readScript = listOfChannel + "\n" + """
        local list = list_of(ARGV[2])
        local entries = redis.call('LRANGE', list, 0, -1)
        if #entries == 0 then return {version()} end
        redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
        redis.call('EXPIRE', list, ARGV[4])
        table.insert(entries, 1, version())
        return entries
        """

    /// What a read found: the page (when the hot list covers it) or the version to fill at.
    enum Lookup {
        case hit(String)
        case miss(version: String)
    }

    /// The page as a JSON array when the channel's hot list covers it (`latest`, or `before` an
    /// id inside the list); otherwise the version a fill must see unchanged.
    func lookup(_ channel: Snowflake, page: HistoryPage, limit: Int) async throws -> Lookup {
        try await lostWrites.renewIfStale()
        let reply = try await redis.send(["EVAL", Self.readScript, "3", generationKey, versionKey(channel), lruKey,
                                          prefix, channel.description, now(), String(idleSeconds)])
        guard let items = reply.array, let version = items.first?.string else { throw RedisError.protocolError }
        let entries = items.dropFirst().compactMap(\.string)
        guard !entries.isEmpty else { return .miss(version: version) }
        let complete = entries.last == "~"
        let pushed: [(id: Snowflake, json: Substring)] = entries.compactMap { entry in
            guard let space = entry.firstIndex(of: " "), let id = Snowflake(entry[..<space]) else { return nil }
            return (id, entry[entry.index(after: space)...])
        }
        // Concurrent posts may have been pushed slightly out of order, and a post's push that
        // reached Redis after a fill which had already read that post is in the list twice
        // (each process's calls go over as many connections as it has event loops).
        var messages: [(id: Snowflake, json: Substring)] = []
        for entry in pushed.sorted(by: { $0.id > $1.id }) where entry.id != messages.last?.id { messages.append(entry) }
        let candidates: ArraySlice<(id: Snowflake, json: Substring)>
        switch page {
        case .latest:
            candidates = messages[...]
        case .before(let id):
            // The cursor must be inside the list (or the list must reach the channel's start).
            guard let oldest = messages.last, oldest.id < id || complete else { return .miss(version: version) }
            candidates = messages.drop { $0.id >= id }
        case .after, .around:
            return .miss(version: version)
        }
        guard candidates.count >= limit || complete else { return .miss(version: version) }
        return .hit("[" + candidates.prefix(limit).map(\.json).joined(separator: ",") + "]")
    }

    // MARK: Writes

    /// Stores the list if the version is unchanged, then drops the least recently used lists
    /// past the bound.
    static let fillScript = listOfChannel + "\n" + """
        if version() ~= ARGV[3] then return 0 end
        local list = list_of(ARGV[2])
        redis.call('DEL', list)
        redis.call('RPUSH', list, unpack(ARGV, 7))
        redis.call('EXPIRE', list, ARGV[5])
        redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
        local excess = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[6])
        if excess > 0 then
          local gone = redis.call('ZPOPMIN', KEYS[3], excess)
          for i = 1, #gone, 2 do redis.call('DEL', list_of(gone[i])) end
        end
        return 1
        """

    /// Stores a channel's latest messages (newest first, as read from the database at
    /// `version`); `reachesStart` when they are all the channel has.
    func fill(_ channel: Snowflake, version: String, latest: [(id: Snowflake, json: String)], reachesStart: Bool) async {
        let entries = latest.prefix(perChannel).map { "\($0.id) \($0.json)" } + (reachesStart && latest.count <= perChannel ? ["~"] : [])
        guard !entries.isEmpty else { return }
        await lostWrites.write(["EVAL", Self.fillScript, "3", generationKey, versionKey(channel), lruKey, prefix, channel.description, version,
                     now(), String(idleSeconds), String(maxChannels)] + entries)
    }

    static let appendScript = listOfChannel + "\n" + """
        redis.call('INCR', KEYS[2])
        local list = list_of(ARGV[2])
        if redis.call('LPUSHX', list, ARGV[3]) > 0 then redis.call('LTRIM', list, 0, tonumber(ARGV[4]) - 1) end
        return 0
        """

    /// A new message, after commit: added to the channel's list if the channel is hot.
    func append(_ channel: Snowflake, id: Snowflake, json: String) async {
        await lostWrites.write(appendCommand(channel, id: id, json: json))
    }

    /// New messages, after their commit, in one round trip (in order: the newest last).
    func append(_ messages: [(channel: Snowflake, id: Snowflake, json: String)]) async {
        await lostWrites.write(all: messages.map { appendCommand($0.channel, id: $0.id, json: $0.json) })
    }

    private func appendCommand(_ channel: Snowflake, id: Snowflake, json: String) -> [String] {
        ["EVAL", Self.appendScript, "2", generationKey, versionKey(channel), prefix, channel.description, "\(id) \(json)", String(perChannel)]
    }

    static let invalidateScript = listOfChannel + "\n" + """
        redis.call('INCR', KEYS[2])
        return redis.call('DEL', list_of(ARGV[2]))
        """

    /// An edit or deletion, after commit: the channel's list goes (the next read refills it).
    func invalidate(_ channel: Snowflake) async {
        await lostWrites.write(["EVAL", Self.invalidateScript, "2", generationKey, versionKey(channel), prefix, channel.description])
    }

    static let renewScript = listOfChannel + "\n" + """
        generation()
        redis.call('DEL', KEYS[2])
        return redis.call('INCR', KEYS[1])
        """

    private func now() -> String { String(Int64(Date().timeIntervalSince1970 * 1000)) }

    /// Drops everything copied so far: it is rebuilt from PostgreSQL as it is next used.
    public func renew() async { await lostWrites.renew() }
}
