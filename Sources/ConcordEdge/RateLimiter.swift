import Foundation
import Synchronization

/// Token buckets keyed by caller and route, as Discord's per-route and global limits are.
/// They live in the edge's memory: each edge limits what passes through it.
public final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: Double
    }
    private let buckets = Mutex<[String: Bucket]>([:])
    private let clock: @Sendable () -> Double

    public init(clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        self.clock = clock
    }

    /// Takes one token from `key`'s bucket (refilled at `rate` per second up to `burst`);
    /// returns nil if allowed, or the seconds to wait.
    public func take(_ key: String, rate: Double, burst: Double) -> Double? {
        let now = clock()
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return (1 - bucket.tokens) / rate
        }
    }

    /// Forgets buckets that have been full for a while, bounding memory.
    public func sweep(idleFor seconds: Double = 60) {
        let now = clock()
        buckets.withLock { $0 = $0.filter { now - $0.value.updated < seconds } }
    }

    var count: Int { buckets.withLock { $0.count } }
}
