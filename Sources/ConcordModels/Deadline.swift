import Synchronization

/// Runs `work` and waits for it at most `limit`: returns its result, or nil when the time ran
/// out first. Unstructured on purpose: some waits (a task's result, a close handshake) cannot
/// be cancelled, and the point is not to wait past the deadline. The work may go on after nil.
public func withDeadline<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async -> T) async -> T? {
    await withCheckedContinuation { (done: CheckedContinuation<T?, Never>) in
        let once = Mutex(false)
        let finish: @Sendable (T?) -> Void = { value in
            if once.withLock({ let first = !$0; $0 = true; return first }) { done.resume(returning: value) }
        }
        Task { finish(await work()) }
        Task {
            try? await Task.sleep(for: limit)
            finish(nil)
        }
    }
}

extension Duration {
    /// The duration in whole milliseconds (rounded toward zero), as the wire's ms fields take it.
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
