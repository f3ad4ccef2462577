import ConcordModels
import Synchronization
@testable import ConcordEdge
import Testing

@Suite("Rate limiter")
struct RateLimiterTests {
    final class FakeClock: Sendable {
        let now = Mutex(0.0)
        func advance(_ s: Double) { now.withLock { $0 += s } }
    }

    @Test func bucketsRefillAtTheirRate() {
        let clock = FakeClock()
        let limiter = RateLimiter(clock: { clock.now.withLock { $0 } })
        for _ in 0..<5 { #expect(limiter.take("k", rate: 1, burst: 5) == nil) }
        let wait = limiter.take("k", rate: 1, burst: 5)
        #expect(wait != nil && wait! > 0.99 && wait! <= 1)
        #expect(limiter.take("other", rate: 1, burst: 5) == nil, "keys are independent")
        clock.advance(2)
        #expect(limiter.take("k", rate: 1, burst: 5) == nil)
        #expect(limiter.take("k", rate: 1, burst: 5) == nil)
        #expect(limiter.take("k", rate: 1, burst: 5) != nil)
        clock.advance(120)
        limiter.sweep(idleFor: 60)
        #expect(limiter.count == 0)
    }
}
