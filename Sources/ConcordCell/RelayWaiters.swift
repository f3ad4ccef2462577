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
        var waiting: [Int: [ObjectIdentifier: Alarm]] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    /// Where `destination`'s events stand, for a read to note before it looks.
    public func generation(of destination: Int) -> UInt64 {
        state.withLock { $0.generations[destination, default: 0] }
    }

    /// Events for these destinations were numbered: their held reads answer now.
    public func wake(_ destinations: some Sequence<Int>) {
        let woken = state.withLock { s -> [Alarm] in
            var woken: [Alarm] = []
            for destination in destinations {
                s.generations[destination, default: 0] &+= 1
                if let held = s.waiting.removeValue(forKey: destination) { woken.append(contentsOf: held.values) }
            }
            return woken
        }
        for alarm in woken { alarm.ring() }
    }

    /// Returns once `destination`'s generation is past `seen`, or after `timeout`, or when the
    /// task is cancelled, whichever comes first: whether it was woken.
    @discardableResult
    public func wait(for destination: Int, pastGeneration seen: UInt64, upTo timeout: Duration) async -> Bool {
        let alarm = Alarm()
        let key = ObjectIdentifier(alarm)
        let waits = state.withLock { s -> Bool in
            guard s.generations[destination, default: 0] == seen else { return false }
            s.waiting[destination, default: [:]][key] = alarm
            return true
        }
        if waits {
            // A task cancelled before this finds the alarm rung at once (see `Alarm.wait(upTo:)`).
            await alarm.wait(upTo: timeout)
            state.withLock { s in
                s.waiting[destination]?.removeValue(forKey: key)
                if s.waiting[destination]?.isEmpty == true { s.waiting[destination] = nil }
            }
        }
        return generation(of: destination) != seen
    }
}
