import Synchronization

/// Relays' reads held at this cell until it numbers events for their destination: a relay that
/// has read everything asks again at once and is answered the moment there is more, instead of
/// waiting for a wake through Redis and a second round trip over the inter-region link.
/// Each destination has a generation, moved by every batch of events for it; a read notes the
/// generation before it looks, and waits only while the generation is still the one it noted,
/// so a batch numbered between its look and its wait is never slept through.
public final class RelayWaiters: Sendable {
    private struct State {
        var generations: [Int: UInt64] = [:]
        var waiting: [Int: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        var nextWaiter: UInt64 = 0
    }
    private let state = Mutex(State())

    public init() {}

    /// Where `destination`'s events stand, for a read to note before it looks.
    public func generation(of destination: Int) -> UInt64 {
        state.withLock { $0.generations[destination, default: 0] }
    }

    /// Events for these destinations were numbered: their held reads answer now.
    public func wake(_ destinations: some Sequence<Int>) {
        let woken = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            var woken: [CheckedContinuation<Void, Never>] = []
            for destination in destinations {
                s.generations[destination, default: 0] &+= 1
                if let held = s.waiting.removeValue(forKey: destination) { woken.append(contentsOf: held.values) }
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns once `destination`'s generation is past `seen`, or after `timeout`, or when the
    /// task is cancelled, whichever comes first: whether it was woken.
    @discardableResult
    public func wait(for destination: Int, pastGeneration seen: UInt64, upTo timeout: Duration) async -> Bool {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.woken(destination, pastGeneration: seen) }
            await group.next()
            group.cancelAll()
        }
        return generation(of: destination) != seen
    }

    private func woken(_ destination: Int, pastGeneration seen: UInt64) async {
        let id = state.withLock { s in
            defer { s.nextWaiter &+= 1 }
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // A task cancelled before it got here finds its flag set (set before the handler
                // below runs, which then found nothing to resume), and does not wait.
                let now = state.withLock { s -> Bool in
                    if s.generations[destination, default: 0] != seen || Task.isCancelled { return true }
                    s.waiting[destination, default: [:]][id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiting[destination]?.removeValue(forKey: id) }?.resume()
        }
    }
}
