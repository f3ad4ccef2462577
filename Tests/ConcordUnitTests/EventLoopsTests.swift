import ConcordModels
import Testing

@Suite struct EventLoopsTests {
    @Test func aCountInRangeIsTaken() {
        #expect(EventLoops.requested(in: [EventLoops.variable: "1"]) == 1)
        #expect(EventLoops.requested(in: [EventLoops.variable: String(EventLoops.most)]) == EventLoops.most)
    }

    @Test func anythingElseLeavesOnePerCore() {
        #expect(EventLoops.requested(in: [:]) == nil)
        for asked in ["0", "-1", "", "two", "1.5", " 1", String(EventLoops.most + 1), "18446744073709551615", "-9223372036854775808", "1\u{0}"] {
            #expect(EventLoops.requested(in: [EventLoops.variable: asked]) == nil, "\(asked)")
        }
    }
}
