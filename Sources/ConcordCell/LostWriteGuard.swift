import ConcordRedis
import Synchronization

/// Guards a copy of durable state kept in Redis (hot messages, unread counters) against lost
/// writes: a write that fails leaves the copy missing a change, so before the next use the copy
/// moves to a new generation (`renewal`, one script), which makes every older part of it unused.
/// A process starts that way: what a crashed predecessor failed to write cannot linger.
final class LostWriteGuard: Sendable {
    let redis: RedisClient
    let renewal: [String]
    private let stale = Mutex(true)

    init(redis: RedisClient, renewal: [String]) {
        self.redis = redis
        self.renewal = renewal
    }

    /// Sends a write; a failure is remembered, not thrown (the durable state is elsewhere).
    func write(_ command: [String]) async {
        await write(all: [command])
    }

    /// Sends writes in one round trip; a failure of any is remembered, not thrown.
    func write(all commands: [[String]]) async {
        guard !commands.isEmpty else { return }
        do {
            try await renewIfStale()
            if commands.count == 1 {
                _ = try await redis.send(commands[0])
            } else if try await redis.pipeline(commands).contains(where: { if case .failure = $0 { true } else { false } }) {
                stale.withLock { $0 = true }
            }
        } catch {
            stale.withLock { $0 = true }
        }
    }

    /// Moves to a new generation now (what the copy holds no longer matches the database, e.g.
    /// a workspace moved in); if Redis cannot answer, the next use does it.
    func renew() async {
        stale.withLock { $0 = true }
        try? await renewIfStale()
    }

    /// Moves to a new generation if a write was lost since the last one.
    func renewIfStale() async throws {
        guard stale.withLock({ $0 }) else { return }
        _ = try await redis.send(renewal)
        stale.withLock { $0 = false }
    }
}
