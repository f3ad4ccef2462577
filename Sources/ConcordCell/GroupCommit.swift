import ConcordStorage
import Synchronization

/// Sends that arrive while earlier ones are being written go to the database together: one
/// statement and one commit for the lot (group commit). Under load a statement's fixed cost and
/// a commit's wait for the disk are paid once per batch instead of once per message; a send that
/// finds a lane free is written at once and alone, so a quiet cell waits for nothing.
///
/// No task of its own: a sender that gets a lane writes its batch (itself and whoever waits, in
/// arrival order), answers the others, and hands the lane to the first sender still waiting.
final class GroupCommit: Sendable {
    typealias Write = @Sendable ([MessageWrite]) async throws -> [ReadStateRow]

    private enum Turn: Sendable {
        case written([ReadStateRow])
        case failed(any Error)
        case lead
    }

    private struct Waiting: Sendable {
        let message: MessageWrite
        let turn: CheckedContinuation<Turn, Never>
    }

    private struct State {
        var waiting: [Waiting] = []
        var busyLanes = 0
    }

    private let state = Mutex(State())
    /// Batches written at once: two keep PostgreSQL busy while the cell answers the last batch.
    private let lanes: Int
    private let largestBatch: Int
    private let write: Write

    init(lanes: Int = 2, largestBatch: Int = 64, write: @escaping Write) {
        precondition(lanes > 0 && largestBatch > 0)
        self.lanes = lanes
        self.largestBatch = largestBatch
        self.write = write
    }

    /// Senders waiting for a lane (for tests).
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// Writes one message with its event. Answers the read-state rows its batch changed: all of
    /// them to the sender who wrote the batch, none to the others (each row once).
    func insert(_ message: MessageWrite) async throws -> [ReadStateRow] {
        let turn = await withCheckedContinuation { (turn: CheckedContinuation<Turn, Never>) in
            let leads = state.withLock { state in
                guard state.busyLanes < lanes else {
                    state.waiting.append(Waiting(message: message, turn: turn))
                    return false
                }
                state.busyLanes += 1
                return true
            }
            if leads { turn.resume(returning: .lead) }
        }
        switch turn {
        case .written(let rows): return rows
        case .failed(let error): throw error
        case .lead:
            defer { handOver() }
            let others = state.withLock { state in
                let taken = Array(state.waiting.prefix(largestBatch - 1))
                state.waiting.removeFirst(taken.count)
                return taken
            }
            guard !others.isEmpty else { return try await write([message]) }
            // A task of its own, not inheriting this sender's cancellation: the batch carries
            // the others' messages, and their answers must not depend on this request's fate.
            return try await Task { try await self.write(message, with: others) }.value
        }
    }

    private func write(_ own: MessageWrite, with others: [Waiting]) async throws -> [ReadStateRow] {
        do {
            let rows = try await write([own] + others.map(\.message))
            for other in others { other.turn.resume(returning: .written([])) }
            return rows
        } catch {
            // One message the database refuses (its workspace moved away, its channel is gone)
            // must not fail the rest: each is written alone and gets its own answer. Ids are
            // fixed before writing, so a batch that did commit unseen cannot be written twice.
            for other in others {
                do { other.turn.resume(returning: .written(try await write([other.message]))) } catch {
                    other.turn.resume(returning: .failed(error))
                }
            }
            return try await write([own])
        }
    }

    /// The lane goes to the first sender waiting, or is free again.
    private func handOver() {
        let next = state.withLock { state -> Waiting? in
            guard !state.waiting.isEmpty else {
                state.busyLanes -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.turn.resume(returning: .lead)
    }
}
