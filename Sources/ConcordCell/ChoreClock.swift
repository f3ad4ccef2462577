import ServiceLifecycle
import Synchronization

/// Paces a service's repeated work and ends it at graceful shutdown between passes instead of
/// cancelling a pass half-way: a pass's database and Redis calls finish or fail on their own, so
/// a sequencer transaction or an outbox publication is never abandoned midway. (Task
/// cancellation still reaches the work on a hard stop.)
final class ChoreClock: Sendable {
    private let state = Mutex<(stopped: Bool, alarms: [Alarm])>((false, []))

    var stopped: Bool { state.withLock { $0.stopped } }

    /// Runs `body` until it returns; graceful shutdown marks the clock stopped, cuts short its
    /// sleeps and calls `onStop`.
    func run(_ body: () async -> Void, onStop: @escaping @Sendable () -> Void = {}) async {
        await withGracefulShutdownHandler {
            await body()
        } onGracefulShutdown: {
            self.stop()
            onStop()
        }
    }

    func stop() {
        let alarms = state.withLock { s in
            s.stopped = true
            defer { s.alarms = [] }
            return s.alarms
        }
        for alarm in alarms { alarm.ring() }
    }

    /// Sleeps for `duration`, or until the clock stops (or the task is cancelled).
    func sleep(_ duration: Duration) async {
        let alarm = Alarm()
        let stopped = state.withLock { s in
            if !s.stopped { s.alarms.append(alarm) }
            return s.stopped
        }
        if stopped { alarm.ring() }
        await alarm.wait(upTo: duration)
        state.withLock { s in s.alarms.removeAll { $0 === alarm } }
    }

    /// Repeats `pass` every `interval` until the clock stops.
    func repeatEvery(_ interval: Duration, _ pass: () async -> Void) async {
        while !stopped && !Task.isCancelled {
            await pass()
            await sleep(interval)
        }
    }
}
