import NIOCore
import Synchronization

/// Holds sockets' flushes while the hub routes a backlog of cell events, so that under load a
/// socket gets the frames of many events in one write rather than one write (and one TCP
/// segment) per event. A round is open only while events are already waiting: with nothing
/// queued each event is flushed at once, so an idle edge adds no latency; a round ends after
/// `eventsPerRound` events at most, which bounds what waits in each socket's buffer.
final class FlushRounds: Sendable {
    static let eventsPerRound = 32

    private struct State {
        var open = 0
        var held: [SocketOutput] = []
    }
    private let state = Mutex(State())

    func begin() { state.withLock { $0.open += 1 } }

    /// Whether the output's flush waits for the end of the open rounds (false: flush it now).
    func hold(_ output: SocketOutput) -> Bool {
        state.withLock { s in
            guard s.open > 0 else { return false }
            s.held.append(output)
            return true
        }
    }

    /// Ends a round; when it was the last open one, the held outputs flush: one task per event
    /// loop flushes all of its sockets (not one task handed to a loop per socket).
    func end() {
        let held = state.withLock { s -> [SocketOutput] in
            s.open -= 1
            guard s.open == 0 else { return [] }
            defer { s.held = [] }
            return s.held
        }
        var byLoop: [ObjectIdentifier: (loop: any EventLoop, outputs: [SocketOutput])] = [:]
        for output in held {
            let loop = output.channel.eventLoop
            byLoop[ObjectIdentifier(loop), default: (loop, [])].outputs.append(output)
        }
        for (loop, outputs) in byLoop.values {
            loop.execute { for output in outputs { output.flushQueue() } }
        }
    }
}
