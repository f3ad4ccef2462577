import AsyncHTTPClient
import ConcordHTTP
import ConcordModels
import ConcordObservability
@testable import ConcordRelay
import Foundation
import Testing

/// A relay steps over pages that hold nothing for its cell without a transaction in the
/// destination each, and the first page after them that holds something is applied at once (the
/// destination's cursor is behind where the relay read from, by those pages only).
@Suite("Relay steps")
struct RelayStepTests {
    /// Alice's workspace in cell 1 with a channel shared into Bob's workspace in cell 2.
    static func sharedChannel(_ c: TestCluster) async throws -> (alice: String, bob: String, usGuild: Guild, shared: GuildChannel) {
        let (_, alice) = try await c.register("alice", edge: 0)
        let (_, bob) = try await c.register("bob", edge: 1)
        let usGuild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "US")).decode(Guild.self)
        let euGuild = try await c.request(.POST, "/guilds", token: bob, body: GuildCreateRequest(name: "EU"), edge: 1).decode(Guild.self)
        let shared = try await c.request(.POST, "/guilds/\(usGuild.id)/channels", token: alice, json: #"{"name":"shared"}"#).decode(GuildChannel.self)
        #expect(try await c.concordctl(["channel", "share", shared.id.description, "--into", euGuild.id.description]).status == 0)
        return (alice, bob, usGuild, shared)
    }

    /// Cell 1's internal API as cell 2's relay reaches it, and cell 1's outbox head once what
    /// committed is numbered.
    static func withSourceAtHead(_ c: TestCluster, _ body: (_ cells: CellClient, _ source: String, _ head: Int64) async throws -> Void) async throws {
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        defer { _ = Task { try? await http.shutdown() } }
        try await c.domains[0].settleOutbox()
        try await body(CellClient(http: http, secret: c.secrets.internalSecret), c.config.cells[0].apiURL(from: c.config.cells[1].region),
                       try await c.domains[0].db.outboxHead())
    }

    @Test func aSharedEventAfterPagesThatHeldNothingIsAppliedInOneStep() async throws {
        try await TestCluster.with(cells: 2, edges: 2, internalTLS: false) { c in
            let (alice, _, usGuild, shared) = try await Self.sharedChannel(c)
            // Posted and numbered by the source's sequencer (what the relay's wake waits for).
            func post(_ channel: Snowflake, _ text: String) async throws {
                let before = try await c.domains[0].db.outboxHead()
                #expect(try await c.request(.POST, "/channels/\(channel)/messages", token: alice, body: MessageCreateRequest(content: text)).status == 200)
                try await eventually("numbered") {
                    try await c.domains[0].db.events(after: before, limit: 100).contains { $0.event.type == "MESSAGE_CREATE" && $0.event.channelID == channel }
                }
            }

            let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
            defer { _ = Task { try? await http.shutdown() } }
            let relay = Relay(config: c.config, destination: c.config.cells[1], internalSecret: c.secrets.internalSecret,
                              pollInterval: .seconds(30), logger: TestServers.logger)
            let cells = CellClient(http: http, secret: c.secrets.internalSecret)
            var follower = SourceFollower(relay: relay, source: c.config.cells[0], cells: cells)
            // Pages until the source's head, and the last one's answer.
            func step() async throws -> Int {
                let applied = try await follower.catchUp()
                return applied + (try await follower.settle())
            }
            // Up to date first (the share's own events), then an unshared channel's messages.
            while try await step() > 0 {}
            // The interval's one empty page that moves the destination's cursor.
            try await post(usGuild.system_channel_id!, "unshared 1")
            #expect(try await step() == 0)
            let applied = try await c.domains[1].db.relayCursor(source: 1).seq
            for text in ["unshared 2", "unshared 3"] {
                try await post(usGuild.system_channel_id!, text)
                #expect(try await step() == 0)
            }
            #expect(try await c.domains[1].db.relayCursor(source: 1).seq == applied, "pages with nothing for it moved no cursor")
            #expect(follower.cursor.map { $0.read > $0.applied } == true)

            try await post(shared.id, "shared")
            #expect(try await step() == 1, "applied in the first step after the empty pages")
            #expect(try await c.domains[1].db.channelDigest(shared.id).count == 1)
            let head = try await c.domains[0].db.outboxHead()
            #expect(try await c.domains[1].db.relayCursor(source: 1).seq == head)
        }
    }

    /// The next page is read while the one before it applies: it is applied after that one's
    /// answer, in order, and the source keeps rows from the destination's cursor meanwhile, not
    /// from where the relay read (the page applying may yet fail); a page with nothing for the
    /// destination read meanwhile is not read again.
    @Test func aPageReadWhileTheOneBeforeAppliesFollowsItAndTheSourceKeepsItsRows() async throws {
        try await TestCluster.with(cells: 2, edges: 2, internalTLS: false) { c in
            let (alice, bob, usGuild, shared) = try await Self.sharedChannel(c)
            func post(_ text: String, in channel: Snowflake? = nil) async throws -> Int64 {
                let before = try await c.domains[0].db.outboxHead()
                #expect(try await c.request(.POST, "/channels/\(channel ?? shared.id)/messages", token: alice, body: MessageCreateRequest(content: text)).status == 200)
                try await eventually("numbered") { try await c.domains[0].db.outboxHead() > before }
                return try await c.domains[0].db.outboxHead()
            }

            let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
            defer { _ = Task { try? await http.shutdown() } }
            let destination = c.config.cells[1]
            let metrics = NodeMetrics()
            let relay = Relay(config: c.config, destination: destination, internalSecret: c.secrets.internalSecret,
                              pollInterval: .seconds(30), metrics: metrics, logger: TestServers.logger)
            var follower = SourceFollower(relay: relay, source: c.config.cells[0], cells: CellClient(http: http, secret: c.secrets.internalSecret))
            func pagesRead() -> Double {
                metrics.scrape().split(separator: "\n").first { $0.hasPrefix(MetricName.relayStepDuration.rawValue + "_count{") && $0.contains("step=\"page\"") }
                    .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } } ?? 0
            }
            // Up to date, the interval's one empty page that moves the destination's cursor included.
            _ = try await follower.catchUp()
            _ = try await follower.settle()
            _ = try await post("unshared 1", in: usGuild.system_channel_id!)
            _ = try await follower.catchUp()
            _ = try await follower.settle()
            let start = try #require(follower.cursor).applied
            let kept = OutboxFollower.consumer(OutboxFollower.relay(into: destination.name))

            let first = try await post("first")
            _ = try await follower.catchUp()  // "first" handed over; its answer not yet taken
            _ = try await post("unshared 2", in: usGuild.system_channel_id!)
            _ = try await follower.catchUp()  // nothing for the destination: read past
            let second = try await post("second")
            let before = pagesRead()
            let applied = try await follower.catchUp()  // "second" read, then handed over after the answer to "first"
            #expect(pagesRead() - before == 1, "the page with nothing for it is not read again")
            #expect(try await c.domains[0].db.cursor(kept) == start,
                    "the pages after \(first) were read while the destination was known to have only \(start)")
            #expect(applied + (try await follower.settle()) == 2)
            #expect(follower.cursor?.applied == second)
            #expect(try await c.domains[1].db.relayCursor(source: 1).seq == second)
            let replica = try await c.request(.GET, "/channels/\(shared.id)/messages", token: bob, edge: 1).decode([Message].self)
            #expect(replica.map(\.content) == ["second", "first"])
            // Read once more, from where the destination now is: the source lets the rows go.
            _ = try await follower.catchUp()
            #expect(try await c.domains[0].db.cursor(kept) == second)
        }
    }

    /// Caught up, a relay's read is held at the source and answered as soon as the source numbers
    /// an event for the destination; events for no one there leave it held until its time is up.
    @Test func aHeldReadIsAnsweredWhenTheSourceNumbersAnEventForTheDestination() async throws {
        try await TestCluster.with(cells: 2, edges: 2, internalTLS: false) { c in
            let (alice, _, usGuild, shared) = try await Self.sharedChannel(c)
            try await Self.withSourceAtHead(c) { cells, source, head in
                func heldRead(_ hold: Duration) async throws -> (page: RelayPage, took: Duration) {
                    let started = ContinuousClock.now
                    let page = try await cells.send(InternalAPI.relayPage(after: head, hold: hold, for: 2, follower: "relay-held-test"), to: source)
                    return (page, ContinuousClock.now - started)
                }

                // An unshared channel's message: numbered while the read is held, but nothing for
                // cell 2; the read is held its whole time. (The hold is long enough for a busy
                // machine's sequencer to number the post well inside it.)
                async let quiet = heldRead(.seconds(2))
                try await Task.sleep(for: .milliseconds(100))
                #expect(try await c.request(.POST, "/channels/\(usGuild.system_channel_id!)/messages", token: alice,
                                            body: MessageCreateRequest(content: "not for them")).status == 200)
                try await eventually("the unshared post numbered inside the hold", timeout: .milliseconds(1500)) {
                    try await c.domains[0].db.outboxHead() > head
                }
                let (unshared, waited) = try await quiet
                #expect(unshared.seqs.isEmpty && (unshared.through ?? 0) > head, "answered with where the source looked: \(unshared)")
                #expect(waited >= .seconds(2))

                // A shared channel's message answers the held read long before its time is up.
                async let answered = heldRead(.seconds(5))
                try await Task.sleep(for: .milliseconds(100))
                #expect(try await c.request(.POST, "/channels/\(shared.id)/messages", token: alice,
                                            body: MessageCreateRequest(content: "for them")).status == 200)
                let (page, took) = try await answered
                #expect(page.seqs.count == 1 && String(decoding: page.json, as: UTF8.self).contains("for them"))
                #expect(took < .seconds(4), "woken by the batch, not by the end of the hold: \(took)")
            }
        }
    }

    /// Caught up, a relay's read is held open at the source, which writes each page into it as
    /// it numbers events for the destination: several pages in one answer, each as it comes; an
    /// unshared channel's message is in none; the answer ends when its time is up.
    @Test func anOpenReadBringsEachPageAsTheSourceNumbersIt() async throws {
        try await TestCluster.with(cells: 2, edges: 2, internalTLS: false) { c in
            let (alice, _, usGuild, shared) = try await Self.sharedChannel(c)
            try await Self.withSourceAtHead(c) { cells, source, head in
                var open = try await HeldRead.open(cells, source, after: head)
                var read = head
                let first = open.first
                #expect(first.seqs.isEmpty && first.through == head && first.head == head, "the first look, written at once: \(first)")
                func post(_ text: String, in channel: Snowflake) async throws {
                    #expect(try await c.request(.POST, "/channels/\(channel)/messages", token: alice, body: MessageCreateRequest(content: text)).status == 200)
                }
                for text in ["one", "two"] {
                    try await post("not for them", in: usGuild.system_channel_id!)
                    try await post(text, in: shared.id)
                    // A look between the two posts may write a page with nothing but how far it looked.
                    var page = try await open.next(after: read)
                    while page.seqs.isEmpty {
                        // Compared as constants: the expectation's closure capturing `read` beside
                        // the mutating call crashed the compiler (Swift 6.3.1).
                        let (looked, before) = (page.through ?? 0, read)
                        #expect(looked > before)
                        read = looked
                        page = try await open.next(after: read)
                    }
                    #expect(page.seqs.count == 1 && String(decoding: page.json, as: UTF8.self).contains(text), "\(text): \(page)")
                    #expect(!String(decoding: page.json, as: UTF8.self).contains("not for them"))
                    #expect(page.seqs.allSatisfy { $0 > read } && (page.through ?? 0) >= page.seqs.last ?? .max)
                    read = page.through ?? read
                }
                // Nothing more for cell 2: the answer ends with its time (counted from before it was asked), and nothing else in it.
                let ended = try await open.pages.next() == nil
                #expect(ended)
                let (opened, after) = (open.opened, open.after)
                #expect(ContinuousClock.now - opened >= .milliseconds(4900))
                #expect(try await c.domains[0].db.cursor(OutboxFollower.consumer("relay-open-test")) == after, "rows kept from where the read began")
            }
        }
    }
}

/// A relay's read held open at a source for the longest a source holds one (five seconds), opened
/// again from where the reader got to when its time ran out before the page it waits for came
/// (four posts took over five seconds in a loaded test run).
struct HeldRead {
    let cells: CellClient
    let source: String
    /// Where the read began, when it was asked for, and its first look (written at once).
    var after: Int64
    var opened: ContinuousClock.Instant
    var first: RelayPage
    var pages: StreamedPages

    static func open(_ cells: CellClient, _ source: String, after: Int64) async throws -> HeldRead {
        let call = InternalAPI.relayPageStream(after: after, hold: .seconds(5), for: 2, follower: "relay-open-test")
        let opened = ContinuousClock.now
        let response = try await cells.stream(call, to: source)
        #expect(response.status == .ok)
        #expect(response.headers.first(name: "Content-Type") == RelayPageStream.contentType)
        var pages = StreamedPages(response.body)
        guard let first = try await pages.next() else { throw UnexpectedReply(description: "a held read without its first look") }
        return HeldRead(cells: cells, source: source, after: after, opened: opened, first: first, pages: pages)
    }

    /// The next page of the read, or of one opened again from `read` (its first look, unless that
    /// has nothing new).
    mutating func next(after read: Int64) async throws -> RelayPage {
        while true {
            if let page = try await pages.next() { return page }
            let again = try await Self.open(cells, source, after: read)
            (after, opened, first, pages) = (again.after, again.opened, again.first, again.pages)
            if !first.seqs.isEmpty || (first.through ?? 0) > read { return first }
        }
    }
}
