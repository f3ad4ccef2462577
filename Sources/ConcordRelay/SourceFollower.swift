import AsyncHTTPClient
import ConcordHTTP
import ConcordModels
import ConcordObservability
import Foundation

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
    /// With `holding`, goes on from the head with a read held open at the source that long: the
    /// source writes each page into it as soon as it numbers events for the destination; returns
    /// when such a read brings nothing (a source that does not stream answers one page, held).
    /// Answers how many events the destination applied in the pages whose answers came.
    mutating func catchUp(holding: Duration? = nil) async throws -> Int {
        var applied = 0
        // Whether the last read found nothing more: the next is held open.
        var atHead = false
        while true {
            try Task.checkCancellation()
            applied += try await refreshStaleCursor()
            guard let position = cursor else { continue }
            if atHead, let holding {
                guard try await follow(openRead: position, holding: holding, applied: &applied) else { return applied }
                continue
            }
            // The source sends only what is shared with the destination, and says how far it
            // looked; it keeps its rows for this relay from the destination's cursor on, not from
            // where the relay reads (the page applying may yet fail).
            let started = ContinuousClock.now
            let page = try await cells.send(InternalAPI.relayPage(after: position.read, confirmed: position.applied, for: relay.destination.id,
                                                                  follower: follower), to: relay.url(source))
            record("page", since: started)
            switch try await take(page, readFrom: position.read, applied: &applied) {
            case .nothingNew:
                if holding == nil { return applied }
                atHead = true
            case .handedOver(let reachedHead):
                if reachedHead, holding == nil { return applied }
                atHead = reachedHead
            case .cursorMoved:
                atHead = false
            }
        }
    }

    private var follower: String { OutboxFollower.relay(into: relay.destination.name) }

    private func record(_ step: String, since started: ContinuousClock.Instant) {
        relay.metrics.timer(.relayStepDuration, [("source", source.name), ("step", step)]).recordNanoseconds((ContinuousClock.now - started).nanoseconds)
    }

    /// The destination's cursor, asked again at least every poll interval (a replay moves it
    /// back), never while a page is applying: its answer would not count that page. Answers how
    /// many events the page applying (whose answer is awaited first) applied.
    private mutating func refreshStaleCursor() async throws -> Int {
        func isStale() -> Bool { cursor.map { ContinuousClock.now - $0.at >= relay.pollInterval } ?? true }
        guard isStale() else { return 0 }
        let applied = try await settle()
        if isStale() {
            let seq = try await cells.send(InternalAPI.relayCursor(source: source.id), to: relay.url(relay.destination))
            cursor = RelayPosition(read: seq, applied: seq, at: .now)
        }
        return applied
    }

    /// One read held open at the source from `position`: each page it writes is handed over as
    /// it comes. Ends with the read, or when the destination's cursor is found elsewhere (read
    /// again from there). Answers whether the read brought anything new.
    private mutating func follow(openRead position: RelayPosition, holding: Duration, applied: inout Int) async throws -> Bool {
        let call = InternalAPI.relayPageStream(after: position.read, confirmed: position.applied, hold: holding, for: relay.destination.id,
                                               follower: follower)
        let response = try await cells.stream(call, to: relay.url(source), timeout: .seconds(30))
        guard response.status == .ok, response.headers.first(name: "Content-Type") == RelayPageStream.contentType else {
            // A refusal (thrown as the source's own error), or a source that does not stream: one page.
            let reply = try await CellClient.reply(response, upTo: call.replyLimit)
            guard reply.succeeded else { throw reply.error }
            return try await take(call.read(reply), readFrom: position.read, applied: &applied) != .nothingNew
        }
        // Read off the connection as pages come, while this task waits for the destination.
        let arrived = ArrivedPages(limit: Self.arrivedPagesLimit)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var pages = StreamedPages(response.body)
                do {
                    while let page = try await pages.next() { await arrived.add(page) }
                    arrived.end()
                } catch {
                    arrived.end(error)
                }
            }
            defer { group.cancelAll() }
            var (read, brought, waiting) = (position.read, false, ContinuousClock.now)
            while let page = try await arrived.take() {
                // Timed apart: a page's time here is mostly the source's wait for something new.
                record("held", since: waiting)
                applied += try await refreshStaleCursor()
                guard cursor?.read == read else { return true }
                switch try await take(page, readFrom: read, applied: &applied) {
                case .nothingNew: break
                case .handedOver: brought = true
                case .cursorMoved: return true
                }
                read = cursor?.read ?? read
                waiting = .now
            }
            return brought
        }
    }

    /// The most bytes of pages read ahead of the destination's answers on an open read.
    static let arrivedPagesLimit = 8 << 20

    private enum Taken: Equatable {
        case nothingNew
        case handedOver(reachedHead: Bool)
        /// The destination's cursor is not where the page was read from (moved back for a replay,
        /// or on by another relay): read again from where it is.
        case cursorMoved
    }

    /// Hands `page` (read from `read` on) to the destination, after the answer to the page
    /// before it; a page with nothing for the destination is stepped over (see `EmptyPages`).
    private mutating func take(_ page: RelayPage, readFrom read: Int64, applied: inout Int) async throws -> Taken {
        if let head = page.head { lag.head = head }
        // A source too old to say how far it looked: read on until a page is empty.
        guard let last = page.through ?? page.seqs.last, last > read else {
            // Nothing new: caught up, as far as the page applying (whose answer reports itself) allows.
            if applying == nil { lag.applied(0, through: read) }
            return .nothingNew
        }
        let reachedHead = page.head.map { last >= $0 } ?? false
        if page.seqs.isEmpty, !emptyPages.movesCursor(now: .now) {
            cursor?.read = last
            if applying == nil { lag.applied(0, through: last) }
            return .handedOver(reachedHead: reachedHead)
        }
        applied += try await settle()
        guard let settled = cursor, settled.read == read else { return .cursorMoved }
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
        return .handedOver(reachedHead: reachedHead)
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

/// The pages of a read held open at the source, as its answer's bytes bring them.
struct StreamedPages {
    private var chunks: HTTPClientResponse.Body.AsyncIterator
    private var reader = RelayPageStream.Reader()

    init(_ body: HTTPClientResponse.Body) {
        chunks = body.makeAsyncIterator()
    }

    mutating func next() async throws -> RelayPage? {
        while true {
            if let page = try reader.next() { return page }
            guard let chunk = try await chunks.next() else {
                if reader.holdsPartOfAFrame { throw RelayPageStream.Malformed(description: "a relay page's answer ended inside a page") }
                return nil
            }
            reader.append(chunk.readableBytesView)
        }
    }
}
