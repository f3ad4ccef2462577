#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Gives freed heap back to the system after sockets come and go. Each identify builds and drops
/// tens of KB (the cells' READY answers, READY and GUILD_CREATE frames) on whichever thread runs
/// it; glibc keeps what was freed in its arenas, where the small objects of the sessions that
/// stay pin the pages, so resident memory stayed far above the live heap of idle sessions.
final class HeapTrimmer: Sendable {
    private struct Counts {
        var changes = 0
        var changesAtLastTick = 0
        var ticksSinceTrim = 0
    }
    private let counts = Mutex(Counts())
    /// With sockets changing all the time, a trim at least this often (in ticks).
    static let longestWait = 30

    /// glibc's malloc_trim, which Swift's Glibc module does not declare (nil on other C libraries).
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()

    /// A socket opened or ended.
    func noteChange() { counts.withLock { $0.changes += 1 } }

    /// Once a second: trims once a burst of changes is over (a tick without new ones), or after
    /// `longestWait` ticks of steady change. Answers whether it trimmed.
    @discardableResult
    func tick() -> Bool {
        let trim = counts.withLock { c -> Bool in
            c.ticksSinceTrim += 1
            defer { c.changesAtLastTick = c.changes }
            guard c.changes > 0, c.changes == c.changesAtLastTick || c.ticksSinceTrim >= Self.longestWait else { return false }
            c = Counts()
            return true
        }
        if trim { Self.mallocTrim?(0) }
        return trim
    }
}
