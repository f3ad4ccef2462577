import ConcordModels
import ConcordRelay
import Foundation
import Testing

/// Data stays in its region unless it is shared: a relay is sent only the events of channels
/// shared into its cell and of DMs with its people. Every byte crossing the inter-region links
/// is recorded (internal TLS off, so they can be read) and searched.
@Suite("Residency")
struct ResidencyTests {
    @Test func nothingOfAnUnsharedChannelOrASameRegionDMCrossesTheLink() async throws {
        try await TestCluster.with(cells: 2, edges: 2, interRegionDelay: 1, internalTLS: false, recordLinks: true) { c in
            let (_, alice) = try await c.register("alice", edge: 0)
            let (carolID, _) = try await c.register("carol", edge: 0)
            let (bobID, bob) = try await c.register("bob", edge: 1)
            #expect(carolID.cell == 1 && bobID.cell == 2)
            let usGuild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "US only")).decode(Guild.self)
            let euGuild = try await c.request(.POST, "/guilds", token: bob, body: GuildCreateRequest(name: "EU"), edge: 1).decode(Guild.self)
            let shared = try await c.request(.POST, "/guilds/\(usGuild.id)/channels", token: alice, json: #"{"name":"shared"}"#).decode(GuildChannel.self)
            #expect(try await c.concordctl(["channel", "share", shared.id.description, "--into", euGuild.id.description]).status == 0)
            let relay = CellTests.RelayRunner {
                Relay(config: c.config, destination: c.config.cells[1], internalSecret: c.secrets.internalSecret,
                      pollInterval: .milliseconds(20), logger: TestServers.logger)
            }
            relay.start()
            let dm = try await c.request(.POST, "/users/@me/channels", token: alice, body: DMCreateRequest(recipientID: carolID)).decode(DMChannel.self)
            #expect(dm.id.cell == 1, "a DM of two people of cell 1 lives there")

            // Written in cell 1 while the relay into cell 2 follows its outbox: an unshared
            // channel's messages and edits, a same-region DM, then the shared channel.
            let secret = try await c.request(.POST, "/channels/\(usGuild.system_channel_id!)/messages", token: alice,
                                             body: MessageCreateRequest(content: "UNSHARED-CHANNEL-7f3a")).decode(Message.self)
            #expect(try await c.request(.PATCH, "/channels/\(usGuild.system_channel_id!)/messages/\(secret.id)", token: alice,
                                        json: #"{"content":"UNSHARED-EDIT-91c2"}"#).status == 200)
            #expect(try await c.request(.POST, "/channels/\(dm.id)/messages", token: alice, body: MessageCreateRequest(content: "SAME-REGION-DM-c0de")).status == 200)
            let renamed = try await c.request(.PATCH, "/channels/\(usGuild.system_channel_id!)", token: alice, json: #"{"name":"UNSHARED-NAME-55aa"}"#)
            #expect(renamed.status == 200, "\(renamed.text)")
            #expect(try await c.request(.POST, "/channels/\(shared.id)/messages", token: alice, body: MessageCreateRequest(content: "SHARED-OK-1234")).status == 200)
            try await eventually("the shared message reached cell 2") {
                try await c.domains[1].db.channelDigest(shared.id).count == 1
            }
            // The relay has looked past everything written before the shared message.
            let head = try await c.domains[0].db.outboxHead()
            try await eventually("the relay's cursor passed the source's head") {
                (try await c.domains[1].db.relayCursor(source: 1).seq) >= head
            }
            await relay.stop()

            let crossed = c.links.map { $0.api.crossed + $0.redis.crossed }.joined()
            #expect(crossed.contains("SHARED-OK-1234"), "the recording sees what is shared (\(crossed.count) bytes recorded)")
            for kept in ["UNSHARED-CHANNEL-7f3a", "UNSHARED-EDIT-91c2", "SAME-REGION-DM-c0de", "UNSHARED-NAME-55aa"] {
                #expect(!crossed.contains(kept), "\(kept) crossed the inter-region link")
            }
        }
    }
}
