import Synchronization

/// Holds the first call of a batch test until the test opens it, so that the calls after it
/// pile up behind.
final class FirstCallGate: Sendable {
    private let held = Mutex<CheckedContinuation<Void, Never>?>(nil)

    /// Waits until `open`.
    func hold() async {
        await withCheckedContinuation { continuation in held.withLock { $0 = continuation } }
    }

    /// Lets the held call go on (waiting for it to be held first).
    func open() async {
        while true {
            if let held = held.withLock({ held -> CheckedContinuation<Void, Never>? in defer { held = nil }; return held }) {
                return held.resume()
            }
            await Task.yield()
        }
    }
}
