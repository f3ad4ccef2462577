import Synchronization

/// Calls that arrive while earlier ones are running go together, as one batch: under load a
/// batch's fixed cost (a statement, a commit's wait for the disk, an HTTP request) is paid once
/// for many calls; a call that finds a lane free runs at once and alone, so a quiet process
/// waits for nothing.
///
/// No task of its own: a caller that gets a lane runs its batch (itself and whoever waits, in
/// arrival order), answers the others and hands the lane to the first caller still waiting.
public final class Batcher<Item: Sendable, Answer: Sendable>: Sendable {
    /// Runs a batch; answers one outcome per item, in the items' order.
    public typealias Run = @Sendable ([Item]) async -> [Result<Answer, any Error>]

    private enum Turn: Sendable {
        case answered(Result<Answer, any Error>)
        case lead
    }

    private struct Waiting: Sendable {
        let item: Item
        let turn: CheckedContinuation<Turn, Never>
    }

    private struct State {
        var waiting: [Waiting] = []
        var busyLanes = 0
    }

    private let state = Mutex(State())
    private let lanes: Int
    private let largestBatch: Int
    private let run: Run

    /// `lanes`: batches running at once; `largestBatch`: items in one batch at most.
    public init(lanes: Int, largestBatch: Int, run: @escaping Run) {
        precondition(lanes > 0 && largestBatch > 0)
        self.lanes = lanes
        self.largestBatch = largestBatch
        self.run = run
    }

    /// Callers waiting for a lane (for tests).
    public var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// Runs `item` in the next batch that has room and answers its outcome.
    public func submit(_ item: Item) async throws -> Answer {
        let turn = await withCheckedContinuation { (turn: CheckedContinuation<Turn, Never>) in
            let leads = state.withLock { state in
                guard state.busyLanes < lanes else {
                    state.waiting.append(Waiting(item: item, turn: turn))
                    return false
                }
                state.busyLanes += 1
                return true
            }
            if leads { turn.resume(returning: .lead) }
        }
        switch turn {
        case .answered(let outcome): return try outcome.get()
        case .lead:
            defer { handOver() }
            let others = state.withLock { state in
                let taken = Array(state.waiting.prefix(largestBatch - 1))
                state.waiting.removeFirst(taken.count)
                return taken
            }
            guard !others.isEmpty else { return try Self.first(of: await run([item])).get() }
            // A task of its own, not inheriting this caller's cancellation: the batch carries
            // the others' items, and their answers must not depend on this caller's fate.
            let outcomes = await Task { await self.run([item] + others.map(\.item)) }.value
            for (index, other) in others.enumerated() {
                other.turn.resume(returning: .answered(index + 1 < outcomes.count ? outcomes[index + 1] : .failure(BatchAnswerMissing())))
            }
            return try Self.first(of: outcomes).get()
        }
    }

    private static func first(of outcomes: [Result<Answer, any Error>]) -> Result<Answer, any Error> {
        outcomes.first ?? .failure(BatchAnswerMissing())
    }

    /// The lane goes to the first caller waiting, or is free again.
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

/// A batch answered fewer outcomes than it had items.
public struct BatchAnswerMissing: Error {
    public init() {}
}
