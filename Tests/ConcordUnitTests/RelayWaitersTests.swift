@testable import ConcordCell
import Testing

/// A relay's held read is answered by the batch for its destination, whenever that batch came
/// after the read noted the generation: before its wait began, or during it.
@Suite("Relay waiters")
struct RelayWaitersTests {
    @Test func aBatchForTheDestinationAnswersAHeldRead() async {
        let waiters = RelayWaiters()
        let seen = waiters.generation(of: 2)
        // Numbered between the read's look and its wait: not slept through.
        waiters.wake([2])
        #expect(await waiters.wait(for: 2, pastGeneration: seen, upTo: .seconds(60)))

        // Numbered while it waits.
        let now = waiters.generation(of: 2)
        async let woken = waiters.wait(for: 2, pastGeneration: now, upTo: .seconds(60))
        try? await Task.sleep(for: .milliseconds(20))
        waiters.wake([3, 2])
        #expect(await woken)
        #expect(waiters.generation(of: 3) == 1, "each destination moves on its own")
    }

    @Test func otherDestinationsBatchesDoNotAndTheHoldEnds() async {
        let waiters = RelayWaiters()
        let seen = waiters.generation(of: 2)
        async let woken = waiters.wait(for: 2, pastGeneration: seen, upTo: .milliseconds(200))
        try? await Task.sleep(for: .milliseconds(20))
        waiters.wake([3])
        waiters.wake([])
        #expect(await !woken, "only a batch for its own destination answers it")
    }

    @Test func aCancelledReadStopsWaitingAndLeavesNothingBehind() async {
        let waiters = RelayWaiters()
        let seen = waiters.generation(of: 2)
        let read = Task { await waiters.wait(for: 2, pastGeneration: seen, upTo: .seconds(60)) }
        try? await Task.sleep(for: .milliseconds(20))
        read.cancel()
        #expect(await !read.value)
        // Cancelled before it began waiting: it does not wait either.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await waiters.wait(for: 2, pastGeneration: seen, upTo: .seconds(60))
        }
        #expect(await !early.value)
        // A later batch resumes nobody twice (a continuation resumed twice would trap).
        waiters.wake([2])
        #expect(waiters.generation(of: 2) == seen + 1)
    }
}
