import ConcordGateway
import Synchronization

/// Ends a socket once: the first close asked for (a heartbeat missed, a bad frame, a revoked
/// token, a newer socket resuming the session) sends its code through the WebSocket handshake
/// and closes the connection, in a task that lives only that long; the socket's reader then
/// ends and cleans up. A socket holds no task waiting for a close that may never come.
final class SocketCloser: Sendable {
    private let done = Atomic<Bool>(false)
    private let close: @Sendable (GatewayCloseCode) async -> Void

    init(close: @escaping @Sendable (GatewayCloseCode) async -> Void) {
        self.close = close
    }

    func yield(_ code: GatewayCloseCode) {
        guard !done.exchange(true, ordering: .relaxed) else { return }
        Task { await close(code) }
    }

    /// The socket is gone: nothing is left to close. Answers whether the edge had begun a close
    /// (a client's close frame was then only its answer: many WebSocket clients answer any close
    /// with 1000, which does not mean the client is leaving).
    @discardableResult
    func finish() -> Bool {
        done.exchange(true, ordering: .relaxed)
    }
}
