@testable import ConcordEdge
import Testing

@Suite("Heap trimming")
struct HeapTrimmerTests {
    @Test func trimsOnceABurstIsOverAndNeverWhenNothingChanged() {
        let trimmer = HeapTrimmer()
        #expect(!trimmer.tick(), "nothing changed")
        for _ in 0..<100 { trimmer.noteChange() }
        #expect(!trimmer.tick(), "the burst may go on")
        #expect(trimmer.tick(), "a second without a change: the burst is over")
        #expect(!trimmer.tick(), "nothing changed since the trim")
    }

    @Test func trimsDuringSteadyChangeAtTheLongestWait() {
        let trimmer = HeapTrimmer()
        var trims: [Int] = []
        for second in 1...(2 * HeapTrimmer.longestWait) {
            trimmer.noteChange()
            if trimmer.tick() { trims.append(second) }
        }
        #expect(trims == [HeapTrimmer.longestWait, 2 * HeapTrimmer.longestWait])
    }
}
