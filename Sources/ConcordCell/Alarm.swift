import NIOCore
import NIOPosix
import Synchronization

/// One wait's wake-up: its timer, or whatever else ends it (a clock's stop, the batch a held
/// read waits for, the task's cancellation), whichever comes first; the others find it rung.
final class Alarm: Sendable {
    private let waiter = Mutex<(rung: Bool, sleeper: CheckedContinuation<Void, Never>?)>((false, nil))

    func ring() {
        let sleeper = waiter.withLock { w -> CheckedContinuation<Void, Never>? in
            guard !w.rung else { return nil }
            w.rung = true
            defer { w.sleeper = nil }
            return w.sleeper
        }
        sleeper?.resume()
    }

    func wait() async {
        await withCheckedContinuation { sleeper in
            let rung = waiter.withLock { w in
                if !w.rung { w.sleeper = sleeper }
                return w.rung
            }
            if rung { sleeper.resume() }
        }
    }

    /// Waits until rung, or until `limit` has passed, or the task is cancelled.
    ///
    /// On an event loop's timer, not `Task.sleep`: that is a Dispatch timer, which wakes
    /// Dispatch's thread to arm it and again when it fires, even after a cancelled sleep. The
    /// outbox publisher sleeps a few milliseconds after every busy pass, and a relay's held read
    /// waits again after every batch for it.
    func wait(upTo limit: Duration) async {
        let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: TimeAmount(limit)) { self.ring() }
        await withTaskCancellationHandler { await wait() } onCancel: { ring() }
        timer.cancel()
    }
}
