import Foundation
import Synchronization

/// Limits kept in the edge's memory: token buckets for anonymous callers (each edge limits what
/// passes through it), and fixed windows for what is normally counted in Redis (the fallback
/// while a cell's Redis is unreachable) and for invalid requests per address.
public final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: Double
    }
    struct Window {
        var count: Int
        var ends: Double
    }
    private let buckets = Mutex<[String: Bucket]>([:])
    private let windows = Mutex<[String: Window]>([:])
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

    /// Counts one request in `key`'s window of `seconds` (a window opens at its first request);
    /// returns the requests counted in it so far, this one included, and the seconds left.
    public func count(_ key: String, window seconds: Double, adding: Int = 1) -> (count: Int, resetAfter: Double) {
        let now = clock()
        return windows.withLock { windows in
            var window = windows[key].flatMap { $0.ends > now ? $0 : nil } ?? Window(count: 0, ends: now + seconds)
            window.count += adding
            // A look (adding 0) at an address with no window keeps no entry for it: every request
            // asks about its address, and only the ones that count need remembering.
            if adding > 0 || windows[key] != nil { windows[key] = window }
            return (window.count, window.ends - now)
        }
    }

    /// Forgets buckets that have been full for a while and windows that have ended, bounding memory.
    public func sweep(idleFor seconds: Double = 60) {
        let now = clock()
        buckets.withLock { $0 = $0.filter { now - $0.value.updated < seconds } }
        windows.withLock { $0 = $0.filter { $0.value.ends > now } }
    }

    var count: Int { buckets.withLock { $0.count } + windows.withLock { $0.count } }
}
