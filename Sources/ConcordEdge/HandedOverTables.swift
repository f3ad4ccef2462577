import ConcordGateway
import ConcordModels
import ConcordRedis
import Foundation
import Synchronization

/// The tables of bodies that drains handed over, as this edge read them back: sessions resuming
/// here from one drain (all of a drained edge's clients, reconnecting together) share one read
/// of its table, and the bodies it makes, for the resume window.
final class HandedOverTables: Sendable {
    private struct Entry {
        var until: Double
        var read: Task<[DispatchBody]?, Never>
    }
    private let entries = Mutex<[String: Entry]>([:])
    let keep: Double

    init(keep: Double) {
        self.keep = keep
    }

    /// The table at `key` in the user's home cell's Redis (nil: gone, unreadable, or not a
    /// drain's table).
    func bodies(_ key: String, cell: String, redis: RedisClient, now: Double) async -> [DispatchBody]? {
        guard key.hasPrefix(Topics.handedOverBodies("", cell: cell)) else { return nil }
        let read = entries.withLock { e -> Task<[DispatchBody]?, Never> in
            e = e.filter { $0.value.until > now }
            if let known = e[key] { return known.read }
            let read = Task { await Self.read(key, redis: redis) }
            e[key] = Entry(until: now + keep, read: read)
            return read
        }
        let bodies = await read.value
        // A failed read is not kept: the next session to resume reads again.
        if bodies == nil { entries.withLock { _ = $0.removeValue(forKey: key) } }
        return bodies
    }

    private static func read(_ key: String, redis: RedisClient) async -> [DispatchBody]? {
        guard case .bulk(let bytes)? = try? await redis.send("GET", key),
              let table = try? WireJSON.decode([HandedOverBody].self, from: Data(bytes)) else { return nil }
        return table.map(\.dispatchBody)
    }
}
