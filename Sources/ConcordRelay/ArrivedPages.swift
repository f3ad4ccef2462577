import ConcordModels
import Synchronization

/// The pages of a read held open at a source, read off the connection as they come while the
/// relay waits for the destination's answer to the page before: whatever came meanwhile is then
/// taken at once, as one page (one transaction at the destination, not one per batch the source
/// numbered). At most `limit` bytes wait; past that, reading stops until the relay takes them.
final class ArrivedPages: Sendable {
    private struct State {
        var pages: [RelayPage] = []
        var bytes = 0
        var ended = false
        var failure: (any Error)?
        var taker: CheckedContinuation<Void, Never>?
        var reader: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// The reader adds a page, then waits while more than `limit` bytes are waiting.
    func add(_ page: RelayPage) async {
        let taker = state.withLock { s in
            s.pages.append(page)
            s.bytes += page.json.count
            defer { s.taker = nil }
            return s.taker
        }
        taker?.resume()
        await wait(\.reader) { $0.bytes <= self.limit }
    }

    /// The read ended (`failure`: how, when it broke): the pages waiting are still taken first.
    func end(_ failure: (any Error)? = nil) {
        let taker = state.withLock { s in
            (s.ended, s.failure) = (true, failure)
            defer { s.taker = nil }
            return s.taker
        }
        taker?.resume()
    }

    /// Every page that came since the last take, as one, waiting for one if none has; nil once
    /// the read has ended and nothing is left (its failure thrown, if it broke).
    func take() async throws -> RelayPage? {
        while true {
            try Task.checkCancellation()
            let (pages, reader, ended, failure) = state.withLock { s in
                let pages = s.pages
                s.pages = []
                s.bytes = 0
                defer { if !pages.isEmpty { s.reader = nil } }
                return (pages, pages.isEmpty ? nil : s.reader, s.ended, s.failure)
            }
            reader?.resume()
            if let first = pages.first { return try pages.dropFirst().reduce(first) { try $0.followed(by: $1) } }
            if ended {
                if let failure { throw failure }
                return nil
            }
            await wait(\.taker) { !$0.pages.isEmpty || $0.ended }
        }
    }

    /// Waits, as the one reader or taker (`slot`), until `ready` holds or the task is cancelled.
    private func wait(_ slot: WritableKeyPath<State, CheckedContinuation<Void, Never>?> & Sendable, until ready: @escaping @Sendable (State) -> Bool) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // A task cancelled before it got here finds its flag set (the handler below then
                // found nothing to resume), and does not wait.
                let now = state.withLock { s -> Bool in
                    if ready(s) || Task.isCancelled { return true }
                    s[keyPath: slot] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { s in
                defer { s[keyPath: slot] = nil }
                return s[keyPath: slot]
            }?.resume()
        }
    }
}
