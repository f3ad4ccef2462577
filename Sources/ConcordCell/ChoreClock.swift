import ServiceLifecycle
import Synchronization

/// Paces a service's repeated work and ends it at graceful shutdown between passes instead of
/// cancelling a pass half-way: a pass's database and Redis calls finish or fail on their own, so
/// a sequencer transaction or an outbox publication is never abandoned midway. (Task
/// cancellation still reaches the work on a hard stop.)
final class ChoreClock: Sendable {
    private let state = Mutex<(stopped: Bool, sleepers: [Task<Void, Never>])>((false, []))

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
        let sleepers = state.withLock { s in
            s.stopped = true
            defer { s.sleepers = [] }
            return s.sleepers
        }
        for sleeper in sleepers { sleeper.cancel() }
    }

    /// Sleeps for `duration`, or until the clock stops.
    func sleep(_ duration: Duration) async {
        let sleeper = Task<Void, Never> { _ = try? await Task.sleep(for: duration) }
        let stopped = state.withLock { s in
            if !s.stopped { s.sleepers.append(sleeper) }
            return s.stopped
        }
        if stopped { sleeper.cancel() }
        await withTaskCancellationHandler { await sleeper.value } onCancel: { sleeper.cancel() }
        state.withLock { s in s.sleepers.removeAll { $0 == sleeper } }
    }

    /// Repeats `pass` every `interval` until the clock stops.
    func repeatEvery(_ interval: Duration, _ pass: () async -> Void) async {
        while !stopped && !Task.isCancelled {
            await pass()
            await sleep(interval)
        }
    }
}
