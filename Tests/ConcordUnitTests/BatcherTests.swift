import ConcordModels
import Synchronization
import Testing

/// The batcher under group commit and batch READY: callers arriving while a batch runs go
/// together, and each gets the answer of its own item.
@Suite("Batcher")
struct BatcherTests {
    /// Records each batch; the first waits until the test opens it, so that callers pile up.
    final class Runs: Sendable {
        let batches = Mutex<[[Int]]>([])
        let gate = FirstCallGate()
        /// Items whose answers the batch leaves out (it answers only those before the first of them).
        let unanswered: Set<Int>

        init(unanswered: Set<Int> = []) { self.unanswered = unanswered }

        func run(_ items: [Int]) async -> [Result<String, any Error>] {
            let first = batches.withLock { batches in
                batches.append(items)
                return batches.count == 1
            }
            if first { await gate.hold() }
            return items.prefix { !unanswered.contains($0) }.map { .success("answer \($0)") }
        }

        func open() async { await gate.open() }
    }

    func submit(_ count: Int, to batcher: Batcher<Int, String>, _ runs: Runs) async -> [Int: Result<String, any Error>] {
        await withTaskGroup(of: (Int, Result<String, any Error>).self) { group in
            func outcome(_ item: Int) async -> Result<String, any Error> {
                do { return .success(try await batcher.submit(item)) } catch { return .failure(error) }
            }
            group.addTask { (1, await outcome(1)) }
            while runs.batches.withLock({ $0.isEmpty }) { await Task.yield() }
            for item in 2...count { group.addTask { (item, await outcome(item)) } }
            while batcher.waitingCount < count - 1 { await Task.yield() }
            await runs.open()
            var outcomes: [Int: Result<String, any Error>] = [:]
            for await (item, outcome) in group { outcomes[item] = outcome }
            return outcomes
        }
    }

    @Test func callersArrivingDuringABatchGoTogetherAndEachGetsItsOwnAnswer() async throws {
        let runs = Runs()
        let batcher = Batcher<Int, String>(lanes: 1, largestBatch: 3) { await runs.run($0) }
        let outcomes = await submit(7, to: batcher, runs)
        let batches = runs.batches.withLock { $0 }
        #expect(batches.first == [1] && batches.dropFirst().allSatisfy { $0.count <= 3 })
        #expect(batches.flatMap { $0 }.sorted() == Array(1...7), "each item in one batch")
        for item in 1...7 { #expect(try outcomes[item]?.get() == "answer \(item)") }
    }

    @Test func anItemTheBatchLeavesUnansweredFailsAndTheOthersDoNot() async throws {
        let runs = Runs(unanswered: [4])
        let batcher = Batcher<Int, String>(lanes: 1, largestBatch: 8) { await runs.run($0) }
        let outcomes = await submit(5, to: batcher, runs)
        let batches = runs.batches.withLock { $0 }
        #expect(batches.count == 2 && batches.first == [1])
        // Callers 2 through 5 wait in whatever order their tasks ran: the second batch answers
        // those ahead of item 4 and leaves 4 and those behind it unanswered.
        let second = batches.last ?? []
        #expect(second.sorted() == [2, 3, 4, 5])
        for item in [1] + second.prefix(while: { $0 != 4 }) { #expect(try outcomes[item]?.get() == "answer \(item)") }
        for item in second.drop(while: { $0 != 4 }) {
            #expect(throws: BatchAnswerMissing.self) { try outcomes[item]?.get() }
        }
    }
}
