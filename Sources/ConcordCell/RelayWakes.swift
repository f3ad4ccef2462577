import ConcordModels
import ConcordStorage
import Synchronization

/// Which other cells' relays a batch of this cell's outbox events concerns: the cells a channel
/// of the batch is shared into, and the cells of the users events are addressed to (a DM's
/// events go to each of its two people). The publisher wakes only those relays, so an idle
/// region's relay does not fetch (and its cell apply) an empty page for every message of a
/// workspace it has no part in. A relay still polls now and then: a share made by another
/// process (concordctl) and not yet seen here costs a shared channel at most that poll's delay.
public final class RelayWakes: Sendable {
    /// How long the share registry's copy is used before it is read again.
    static let reloadAfter: Duration = .seconds(1)

    private struct Shares {
        var cellsOf: [Snowflake: Set<Int>] = [:]
        var loadedAt: ContinuousClock.Instant?
    }

    let cellID: Int
    let db: Database
    private let shares = Mutex(Shares())
    /// The relays' reads held here until there is something for them (woken with the same batches).
    public let heldReads = RelayWaiters()

    public init(cellID: Int, db: Database) {
        self.cellID = cellID
        self.db = db
    }

    /// A share was just recorded here: the next batch reads the registry again.
    func invalidate() {
        shares.withLock { $0.loadedAt = nil }
    }

    /// The other cells whose relays have something to read in `events`. A registry that cannot
    /// be read leaves the last copy in use (the relays' polls make up for what it missed).
    private func destinations(of events: [OutboxEvent]) async -> Set<Int> {
        let cellsOf = await currentShares()
        var cells = Set<Int>()
        for item in events {
            let event = item.event
            if let user = event.userID { cells.insert(user.cell) }
            if let channel = event.channelID, let shared = cellsOf[channel] { cells.formUnion(shared) }
        }
        cells.remove(cellID)
        return cells
    }

    /// Wakes the relays' reads held here that `events` (numbered and durable) concern; answers
    /// which relays those are, for the Redis wake topics.
    func wakeHeldReads(for events: [OutboxEvent]) async -> Set<Int> {
        guard !events.isEmpty else { return [] }
        let cells = await destinations(of: events)
        heldReads.wake(cells)
        return cells
    }

    private func currentShares() async -> [Snowflake: Set<Int>] {
        let now = ContinuousClock.now
        let (copy, fresh) = shares.withLock { s in (s.cellsOf, s.loadedAt.map { now - $0 < Self.reloadAfter } ?? false) }
        guard !fresh, let rows = try? await db.channelShares() else { return copy }
        let loaded = rows.reduce(into: [Snowflake: Set<Int>]()) { $0[$1.channel, default: []].insert($1.cell) }
        shares.withLock { s in (s.cellsOf, s.loadedAt) = (loaded, now) }
        return loaded
    }
}
