import AsyncHTTPClient
import ConcordHTTP
import ConcordModels
@testable import ConcordRelay
import Foundation
import Testing

/// A relay steps over pages that hold nothing for its cell without a transaction in the
/// destination each, and the first page after them that holds something is applied at once (the
/// destination's cursor is behind where the relay read from, by those pages only).
@Suite("Relay steps")
struct RelayStepTests {
    @Test func aSharedEventAfterPagesThatHeldNothingIsAppliedInOneStep() async throws {
        try await TestCluster.with(cells: 2, edges: 2, internalTLS: false) { c in
            let (_, alice) = try await c.register("alice", edge: 0)
            let (_, bob) = try await c.register("bob", edge: 1)
            let usGuild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "US")).decode(Guild.self)
            let euGuild = try await c.request(.POST, "/guilds", token: bob, body: GuildCreateRequest(name: "EU"), edge: 1).decode(Guild.self)
            let shared = try await c.request(.POST, "/guilds/\(usGuild.id)/channels", token: alice, json: #"{"name":"shared"}"#).decode(GuildChannel.self)
            #expect(try await c.concordctl(["channel", "share", shared.id.description, "--into", euGuild.id.description]).status == 0)
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
            let source = c.config.cells[0]
            var cursor: RelayPosition?
            var emptyPages = EmptyPages(interval: .seconds(30))
            func step() async throws -> Int {
                try await relay.step(source, cells: cells, cursor: &cursor, emptyPages: &emptyPages).applied
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
            #expect(cursor.map { $0.read > $0.applied } == true)

            try await post(shared.id, "shared")
            #expect(try await step() == 1, "applied in the first step after the empty pages")
            #expect(try await c.domains[1].db.channelDigest(shared.id).count == 1)
            let head = try await c.domains[0].db.outboxHead()
            #expect(try await c.domains[1].db.relayCursor(source: 1).seq == head)
        }
    }
}
