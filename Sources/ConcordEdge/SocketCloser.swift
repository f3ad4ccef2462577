import ConcordGateway
import Synchronization

/// Ends a socket once: the first close asked for (a heartbeat missed, a bad frame, a revoked
/// token, a newer socket resuming the session) sends its code through the WebSocket handshake
/// (GatewayFrameHandler); later ones, and any after the socket is gone, do nothing.
final class SocketCloser: Sendable {
    private let done = Atomic<Bool>(false)
    private let close: @Sendable (GatewayCloseCode) -> Void

    init(close: @escaping @Sendable (GatewayCloseCode) -> Void) {
        self.close = close
    }

    func yield(_ code: GatewayCloseCode) {
        guard !done.exchange(true, ordering: .relaxed) else { return }
        close(code)
    }

    /// The socket is gone: nothing is left to close.
    func finish() {
        done.store(true, ordering: .relaxed)
    }
}
