/// The bookkeeping of a pool of up to `maximum` connections, kept under the pool's lock: which
/// connections are idle, how many places are taken (connections open, being opened or lent),
/// and the calls waiting for a place, first come first served.
///
/// A call is granted an idle connection, or leave to open one while a place is free; beyond
/// that it waits. A connection given back goes to the first waiter, else idle; a place freed (a
/// connection that closed, or failed to open) goes to the first waiter as leave to open one, so
/// each waiter that is refused a connection learns why itself. The pools of the cells'
/// PostgreSQL connections and of the edges' connections to the cells keep theirs in one.
public struct ConnectionPlaces<Connection, Waiter> {
    public typealias Grant = ConnectionGrant<Connection>

    public let maximum: Int
    /// Places taken: connections open or being opened, idle or lent.
    public private(set) var open = 0
    /// The longest idle first; lent from the end, so the hot connections stay hot and the rest
    /// go idle long enough to be closed.
    private var idle: [(connection: Connection, since: ContinuousClock.Instant)] = []
    private var waiters: [(id: Int, waiter: Waiter)] = []

    public init(maximum: Int) {
        self.maximum = max(1, maximum)
    }

    public var waiting: Int { waiters.count }

    /// An idle connection that is still `alive` (the last one back for which `preferred` holds,
    /// else the last one back; the dead are let go, their places freed), or leave to open one;
    /// nil when every place is taken.
    public mutating func grant(alive: (Connection) -> Bool, preferred: (Connection) -> Bool = { _ in false }) -> Grant? {
        while !idle.isEmpty {
            let index = idle.lastIndex(where: { preferred($0.connection) }) ?? idle.count - 1
            let connection = idle.remove(at: index).connection
            if alive(connection) { return .idle(connection) }
            open -= 1
        }
        guard open < maximum else { return nil }
        open += 1
        return .open
    }

    /// Queues a call for the next place. `id` is the pool's own, unique among its waiters, and
    /// taken before the call looks (so that its cancellation can name it whenever it comes).
    public mutating func wait(_ waiter: Waiter, id: Int) {
        waiters.append((id, waiter))
    }

    /// Takes a waiter out of the queue (its deadline passed, or it was cancelled), if it still waits.
    public mutating func stopWaiting(_ id: Int) -> Waiter? {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return waiters.remove(at: index).waiter
    }

    /// A lent connection back: to the first waiter if any, else idle.
    public mutating func giveBack(_ connection: Connection) -> (Waiter, Grant)? {
        guard waiters.isEmpty else { return (waiters.removeFirst().waiter, .idle(connection)) }
        idle.append((connection, .now))
        return nil
    }

    /// A place freed (its connection closed, or never opened): leave to open one for the first
    /// waiter if any, else one place fewer taken.
    public mutating func freePlace() -> Waiter? {
        guard waiters.isEmpty else { return waiters.removeFirst().waiter }
        open -= 1
        return nil
    }

    /// Takes the first idle connection `matching` out (one that closed while idle), if there
    /// is one, and frees its place (see `freePlace`).
    public mutating func forget(matching: (Connection) -> Bool) -> Waiter? {
        guard let index = idle.firstIndex(where: { matching($0.connection) }) else { return nil }
        idle.remove(at: index)
        return freePlace()
    }

    /// Takes out the connections idle since before `cutoff`, to be closed; their places are freed.
    public mutating func takeIdle(since cutoff: ContinuousClock.Instant) -> [Connection] {
        let count = idle.prefix(while: { $0.since < cutoff }).count
        defer {
            idle.removeFirst(count)
            open -= count
        }
        return idle.prefix(count).map(\.connection)
    }

    /// Empties the pool for its shutdown: the idle connections, to be closed (their places are
    /// freed; the lent ones free theirs as they come back), and the waiters, to be failed.
    public mutating func shutDown() -> (idle: [Connection], waiters: [Waiter]) {
        defer {
            open -= idle.count
            idle = []
            waiters = []
        }
        return (idle.map(\.connection), waiters.map(\.waiter))
    }
}

/// What a call for a connection is granted (see `ConnectionPlaces`).
public enum ConnectionGrant<Connection> {
    case idle(Connection)
    /// A place is the caller's: it opens a connection, and frees the place if that fails.
    case open
}

extension ConnectionGrant: Sendable where Connection: Sendable {}
