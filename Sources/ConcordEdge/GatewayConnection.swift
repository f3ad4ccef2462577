import ConcordGateway
import ConcordModels
import Foundation
import Synchronization

/// What a connection's writer sends: a frame, or a close with a code.
enum Outgoing: Sendable {
    case frame(String)
    case close(GatewayCloseCode)
}

/// One gateway session's state, shared by its socket reader, its ticker, the hub that delivers
/// events to it, and (after a drop) the RESUME that reattaches it to a new socket. Everything
/// that numbers a dispatch happens under one lock, so sequence order is delivery order.
final class GatewayConnection: Sendable {
    struct State {
        var machine: GatewaySession
        var buffer = ResumeBuffer()
        var writer: AsyncStream<Outgoing>.Continuation?
        var userID: Snowflake?
        var isBot = false
        /// The Authorization value the session identified with, for calls made on its behalf.
        var authorization: String?
        var guilds: Set<Snowflake> = []
        var sessionID: String?
        /// When a dropped session stops being resumable.
        var detachedUntil: Double?
    }

    let state: Mutex<State>

    init(now: Double, heartbeatInterval: Double, writer: AsyncStream<Outgoing>.Continuation) {
        state = Mutex(State(machine: GatewaySession(now: now, heartbeatInterval: heartbeatInterval), writer: writer))
    }

    /// Numbers an event for this session, keeps it for RESUME and sends it if attached.
    func deliver(_ type: String, data: String) {
        state.withLock { s in
            guard let (seq, frame) = s.machine.dispatch(type, data: data) else { return }
            s.buffer.append(seq: seq, frame: frame)
            s.writer?.yield(.frame(frame))
        }
    }

    func send(_ outgoing: Outgoing) {
        state.withLock { s in _ = s.writer?.yield(outgoing) }
    }

    var sessionID: String? { state.withLock { $0.sessionID } }
    var userID: Snowflake? { state.withLock { $0.userID } }
    var guilds: Set<Snowflake> { state.withLock { $0.guilds } }
}
