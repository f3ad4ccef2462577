@testable import ConcordCell
import Testing

/// A chore clock's sleeps (event loop timers) end at their time, at the clock's stop, or when the
/// sleeping task is cancelled, whichever comes first.
@Suite("Chore clock")
struct ChoreClockTests {
    @Test func aSleepLastsItsDuration() async {
        let clock = ChoreClock()
        let started = ContinuousClock.now
        await clock.sleep(.milliseconds(50))
        // NIO's clock and this one may round apart by a little; the sleep is not cut short.
        #expect(ContinuousClock.now - started >= .milliseconds(45))
    }

    @Test(.timeLimit(.minutes(1))) func stoppingTheClockEndsItsSleeps() async {
        let clock = ChoreClock()
        async let first: Void = clock.sleep(.seconds(3600))
        async let second: Void = clock.sleep(.seconds(3600))
        try? await Task.sleep(for: .milliseconds(50))
        clock.stop()
        _ = await (first, second)
        #expect(clock.stopped)
        await clock.sleep(.seconds(3600))
    }

    @Test(.timeLimit(.minutes(1))) func cancellingTheSleeperEndsItsSleep() async {
        let clock = ChoreClock()
        let sleeper = Task { await clock.sleep(.seconds(3600)) }
        try? await Task.sleep(for: .milliseconds(50))
        sleeper.cancel()
        await sleeper.value
        #expect(!clock.stopped)
    }
}
