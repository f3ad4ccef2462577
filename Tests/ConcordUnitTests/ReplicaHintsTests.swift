@testable import ConcordEdge
import ConcordModels
import Testing

/// Where the edge sends a request for another cell's channel: what it learnt, per caller's cell,
/// and never more than its capacity.
@Suite("Replica hints")
struct ReplicaHintsTests {
    @Test func learntPerChannelAndCallersCellAndBounded() {
        let hints = ReplicaHints(capacity: 3)
        let channel = Snowflake(1_577_000_000_000_000_000)
        #expect(hints.servedLocally(channel, for: 2) == nil, "nothing known at first: the caller's cell is asked")
        hints.record(channel, for: 2, servedLocally: true)
        hints.record(channel, for: 3, servedLocally: false)
        #expect(hints.servedLocally(channel, for: 2) == true && hints.servedLocally(channel, for: 3) == false)
        hints.record(channel, for: 2, servedLocally: false)
        #expect(hints.servedLocally(channel, for: 2) == false, "a later answer replaces the earlier")
        hints.record(Snowflake(7), for: 2, servedLocally: true)
        hints.record(Snowflake(8), for: 2, servedLocally: true)
        // Full: it starts again, so what was known is asked again once.
        #expect(hints.servedLocally(channel, for: 3) == nil && hints.servedLocally(Snowflake(8), for: 2) == true)
    }
}
