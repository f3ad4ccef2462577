import ConcordModels
import ConcordRedis
import ConcordStorage
import Logging
import ServiceLifecycle

/// Tails the cell's outbox: gives committed rows their sequence numbers, publishes them to
/// the cell's Redis in sequence order (a topic per workspace, or per user for events
/// addressed to one user), then records how far it got. If Redis is down it retries the
/// same rows; consumers that missed messages read them back from the outbox by sequence.
public struct OutboxPublisher: Service {
    public static let consumer = "redis-publisher"
    /// Events in one pass from which on the publisher lets commits gather before the next (a
    /// message in a DM is two events, one per user).
    static let busyPass: Int64 = 3
    let db: Database
    let redis: RedisClient
    let cellName: String
    let signal: OutboxSignal
    let counters: UnreadCounters
    /// Which other cells' relays each batch wakes (nil: none; they poll).
    let relayWakes: RelayWakes?
    let pollInterval: Duration
    let linger: Duration
    let logger: Logger

    public init(db: Database, redis: RedisClient, cellName: String, signal: OutboxSignal, counters: UnreadCounters? = nil,
                relayWakes: RelayWakes? = nil, pollInterval: Duration = .milliseconds(200), linger: Duration = .milliseconds(5),
                logger: Logger = Logger(label: "concord.outbox")) {
        self.db = db
        self.redis = redis
        self.cellName = cellName
        self.signal = signal
        self.counters = counters ?? UnreadCounters(redis: redis, cellName: cellName)
        self.relayWakes = relayWakes
        self.pollInterval = pollInterval
        self.linger = linger
        self.logger = logger
    }

    public func run() async throws {
        let clock = ChoreClock()
        await clock.run {
            await withTaskGroup(of: Void.self) { group in
                // A commit wakes the publisher at once; the ticker catches commits made by other
                // processes (e.g. concordctl) and retries after failures.
                group.addTask { [signal, pollInterval] in
                    while !clock.stopped && !Task.isCancelled {
                        await clock.sleep(pollInterval)
                        signal.wake()
                    }
                }
                // The loop ends between passes once the clock stops; then the ticker goes.
                await self.loop(clock)
                group.cancelAll()
            }
        } onStop: { [signal] in signal.wake() }
    }

    private func loop(_ clock: ChoreClock) async {
        var published: Int64?
        for await _ in signal.stream {
            if clock.stopped || Task.isCancelled { return }
            // Let commits gather for a moment when they come in numbers (or after a failure): one
            // pass per few milliseconds instead of one per commit keeps the sequencer's own
            // transactions from competing with the writes. A pass that published fewer than
            // `busyPass` events does not wait: in a quiet cell the next commit goes out at once.
            var lingering = true
            do {
                let from: Int64
                if let published { from = published } else { from = try await db.cursor(Self.consumer) }
                let to = try await publishPending(after: from)
                published = to
                lingering = to - from >= Self.busyPass
            } catch {
                logger.warning("outbox publication failed; will retry", metadata: ["error": "\(error)"])
            }
            if clock.stopped || Task.isCancelled { return }
            if lingering { await clock.sleep(linger) }
        }
    }

    /// Sequences what has committed and publishes everything after `position`; returns the new position.
    func publishPending(after position: Int64) async throws -> Int64 {
        var position = position
        // What the sequencer numbered comes with its answer: the usual next page, unless the
        // publisher is behind it (after a failure or a restart) and reads from the outbox.
        var (head, numbered, numberedWakes) = try await sequence()
        while position < head {
            let events: [OutboxEvent]
            // The relays the page concerns, woken by the batch's last position below.
            let wakes: Set<Int>
            if let first = numbered.first, first.seq == position + 1 {
                events = Array(numbered.prefix(Self.page))
                numbered.removeFirst(events.count)
                // The sequencer's answer for its whole batch (it woke their held reads already):
                // a batch longer than a page wakes a relay of its later pages early, for one look.
                wakes = numberedWakes
            } else {
                events = try await db.events(after: position, upTo: head, limit: Self.page)
                numbered = []
                // Rows read back here (after a failure or a restart) wake the held reads now:
                // they are numbered and durable.
                wakes = await relayWakes?.wakeHeldReads(for: events) ?? []
            }
            guard let last = events.last else { break }
            // The batch's last position goes out too, ahead of its events: an edge that subscribes
            // between two of the batch's events has seen the position by then (see the edge's
            // `needsReadBack`), so it reads back what it may have missed; and the relays the batch
            // concerns wake on it and read the (already numbered) rows themselves.
            let newest = String(last.seq)
            let replies = try await redis.pipeline([["PUBLISH", Topics.outbox(cell: cellName), newest]]
                                                   + wakes.sorted().map { ["PUBLISH", Topics.relayWake(cell: cellName, destination: $0), newest] }
                                                   + events.map { ["PUBLISH", Topics.of($0.event, cell: cellName), $0.wireJSON] })
            if let failure = replies.first(where: { if case .failure = $0 { true } else { false } }), case .failure(let error) = failure {
                throw error
            }
            position = last.seq
            let moved = try await db.advanceCursor(Self.consumer, to: position)
            // Caught up: the sequencer runs again only for rows committed meanwhile (the cursor's
            // statement said whether there are any).
            if position >= head {
                if moved.unsequenced { (head, numbered, numberedWakes) = try await sequence() } else { head = max(head, moved.head) }
            }
        }
        return position
    }

    /// Events published per Redis pipeline.
    static let page = 500

    /// Numbers what has committed, wakes the relays' reads held here that the rows concern, and
    /// raises the unread counters' copy of what that changed; answers the head, the rows it
    /// numbered and the relays they concern.
    private func sequence() async throws -> (head: Int64, numbered: [OutboxEvent], wakes: Set<Int>) {
        let sequenced = try await db.sequenceOutbox()
        // Before the counters' Redis writes: every relayed event waited for them (5.6 ms a
        // message at 1,000 messages/s on two loaded cores), and the relays need only the rows.
        let wakes = await relayWakes?.wakeHeldReads(for: sequenced.events) ?? []
        await counters.record(sequenced.channelSeqs, sequenced.readStates)
        return (sequenced.head, sequenced.events, wakes)
    }
}
