import ConcordHTTP
import ConcordModels

/// One source as a relay follows it: where it reads on from, the destination's cursor as its
/// last answer gave it, and the page the destination is applying. The next page is read from
/// the source while the one before it is applied (two cells' work, which need not wait for each
/// other); pages are still applied one at a time and in order, each only after the
/// destination's answer to the one before says it follows.
struct SourceFollower {
    let relay: Relay
    let source: ClusterConfig.Cell
    let cells: CellClient
    private(set) var cursor: RelayPosition?
    private var emptyPages: EmptyPages
    private var lag: LagGauges
    /// The page the destination is applying: where it ends, and the answer to come.
    private var applying: (through: Int64, reply: Task<RelayApplied, Error>)?

    init(relay: Relay, source: ClusterConfig.Cell, cells: CellClient) {
        self.relay = relay
        self.source = source
        self.cells = cells
        emptyPages = EmptyPages(interval: relay.pollInterval)
        lag = LagGauges(metrics: relay.metrics, source: source.name)
    }

    /// Reads pages and hands them to the destination until one reaches the source's head; the
    /// last one handed over may still be applying when this returns (`settle` waits for it).
    /// With `holding`, reads on from the head, each read held by the source until it has events
    /// for the destination (or for that long), and returns when a held read brings nothing (a
    /// source that does not hold reads answers at once). Answers how many events the
    /// destination applied in the pages whose answers came.
    mutating func catchUp(holding: Duration? = nil) async throws -> Int {
        var applied = 0
        let clock = ContinuousClock()
        // Whether the next read asks the source to hold it: the last one found nothing more.
        var atHead = false
        while true {
            try Task.checkCancellation()
            // The destination's cursor, asked again at least every poll interval (a replay moves
            // it back), never while a page is applying: its answer would not count that page.
            func cursorIsStale() -> Bool { cursor.map { clock.now - $0.at >= relay.pollInterval } ?? true }
            if cursorIsStale() {
                applied += try await settle()
                if cursorIsStale() {
                    let seq = try await cells.send(InternalAPI.relayCursor(source: source.id), to: relay.url(relay.destination))
                    cursor = RelayPosition(read: seq, applied: seq, at: clock.now)
                }
            }
            guard let position = cursor else { continue }
            // The source sends only what is shared with the destination, and says how far it
            // looked; it keeps its rows for this relay from the destination's cursor on, not from
            // where the relay reads (the page applying may yet fail).
            let started = clock.now
            let hold = atHead ? holding : nil
            let page = try await cells.send(InternalAPI.relayPage(after: position.read, confirmed: position.applied, hold: hold,
                                                                  for: relay.destination.id, follower: OutboxFollower.relay(into: relay.destination.name)),
                                            to: relay.url(source))
            // A held read is timed apart: its time is mostly the source's wait for something new.
            relay.metrics.timer(.relayStepDuration, [("source", source.name), ("step", hold == nil ? "page" : "held")])
                .recordNanoseconds((clock.now - started).nanoseconds)
            if let head = page.head { lag.head = head }
            // A source too old to say its head: read on until a page is empty.
            guard let last = page.through ?? page.seqs.last, last > position.read else {
                // Nothing new: caught up, as far as the page applying (whose answer reports itself) allows.
                if applying == nil { lag.applied(0, through: position.read) }
                if holding == nil || hold != nil { return applied }
                atHead = true
                continue
            }
            let reachedHead = page.head.map { last >= $0 } ?? false
            atHead = reachedHead
            if page.seqs.isEmpty, !emptyPages.movesCursor(now: clock.now) {
                cursor?.read = last
                if applying == nil { lag.applied(0, through: last) }
                if reachedHead, holding == nil { return applied }
                continue
            }
            // This page follows the one applying: its answer first. A destination whose cursor
            // is not where that page ended (moved back for a replay, or on by another relay) is
            // read from again where it is.
            applied += try await settle()
            guard let settled = cursor, settled.read == position.read else { continue }
            // Between the destination's cursor and where the page starts there was nothing for it
            // (pages it was not sent), so the page follows the destination's cursor.
            let call = InternalAPI.relayApply(source: source.id, after: settled.applied, through: last, page: page.json)
            let (cells, url, timer) = (cells, relay.url(relay.destination), relay.metrics.timer(.relayStepDuration, [("source", source.name), ("step", "apply")]))
            // Unstructured so that the next page is read meanwhile; `settle` awaits it, `reset`
            // cancels it, and the follower is not dropped with one running (see `Relay.follow`).
            applying = (last, Task {
                let started = ContinuousClock.now
                let reply = try await cells.send(call, to: url)
                timer.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
                return reply
            })
            cursor?.read = last
            if reachedHead, holding == nil { return applied }
        }
    }

    /// Waits for the destination's answer to the page applying, if any: the cursor is then the
    /// destination's, and reading goes on from it, or from past the pages with nothing for the
    /// destination read meanwhile. Answers how many events that page applied.
    mutating func settle() async throws -> Int {
        guard let (through, task) = applying else { return 0 }
        applying = nil
        let reply = try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
        // Short of the page's end: the destination's cursor was moved back (a replay), and
        // everything after it is read again.
        let read = reply.cursor >= through ? max(reply.cursor, cursor?.read ?? reply.cursor) : reply.cursor
        cursor = RelayPosition(read: read, applied: reply.cursor, at: .now)
        lag.applied(reply.applied, through: read)
        return reply.applied
    }

    /// After a failure, or when the relay stops: the page applying is let go (the destination
    /// commits it or not, and its cursor says which), and the cursor is asked for again.
    mutating func reset() {
        applying?.reply.cancel()
        applying = nil
        cursor = nil
    }
}
