@testable import ConcordEdge
import Testing

/// A socket's inbox hands its items out in arrival order, whatever the interleaving of arrivals
/// and takes, and keeps nothing once drained.
@Suite("Socket inbox")
struct SocketInboxTests {
    @Test func itemsComeOutInOrderThroughEveryInterleaving() {
        var inbox = SocketBinding.Inbox()
        var expected: [Int] = []
        var taken: [Int] = []
        var next = 0
        // Arrivals outpace takes (the compaction path), then takes drain it (the reset path).
        for round in 0..<2_000 {
            for _ in 0..<(round % 3 + 1) {
                inbox.append(.message([UInt8(truncatingIfNeeded: next), UInt8(truncatingIfNeeded: next >> 8)]))
                expected.append(next)
                next += 1
            }
            if round % 2 == 0, case .message(let bytes)? = inbox.popFirst() { taken.append(Int(bytes[0]) | Int(bytes[1]) << 8) }
        }
        while case .message(let bytes)? = inbox.popFirst() { taken.append(Int(bytes[0]) | Int(bytes[1]) << 8) }
        #expect(taken.map { $0 & 0xFFFF } == expected.map { $0 & 0xFFFF })
        #expect(inbox.popFirst() == nil)
        inbox.append(.end(clientLeft: true))
        guard case .end(let left)? = inbox.popFirst() else { Issue.record("the end comes out"); return }
        #expect(left && inbox.popFirst() == nil)
    }
}
