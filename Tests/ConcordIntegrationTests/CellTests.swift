import ConcordModels
import Foundation
import Testing

/// Two cells in two regions, an edge in each: a user homed in one cell joins, reads and writes a
/// workspace homed in the other through either edge, and their gateway session (on any edge)
/// carries workspaces of both cells.
@Suite("Cells and regions")
struct CellTests {
    @Test func aWorkspaceHomedInOneCellServesAUserHomedInAnother() async throws {
        try await TestCluster.with(cells: 2, edges: 2) { c in
            // Edge 0 is in region "us" (cell 1), edge 1 in "eu" (cell 2): people are homed where they sign up.
            let (aliceID, alice) = try await c.register("alice", edge: 0)
            let (bobID, bob) = try await c.register("bob", edge: 1)
            #expect(aliceID.cell == 1 && bobID.cell == 2)
            let home = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Alice's")).decode(Guild.self)
            let away = try await c.request(.POST, "/guilds", token: bob, body: GuildCreateRequest(name: "Bob's"), edge: 1).decode(Guild.self)
            #expect(home.id.cell == 1 && away.id.cell == 2, "a workspace is homed in its creator's cell")
            let general = try #require(away.system_channel_id)

            // Alice is online at the us edge when she joins Bob's workspace through the eu edge.
            let session = GatewayTestClient(url: GatewayFrames.url(c.edgeURLs[0]))
            session.send(GatewayFrames.identify(alice))
            let first = try await session.waitDispatch("GUILD_CREATE")
            #expect(first["d"]?["id"]?.stringValue == home.id.description)
            let invite = try await c.request(.POST, "/channels/\(general)/invites", token: bob, json: "{}", edge: 1).decode(Invite.self)
            let joined = try await c.request(.POST, "/invites/\(invite.code)", token: alice, edge: 1)
            #expect(joined.status == 200, "joining copies Alice's profile to cell 2 first: \(joined.text)")
            #expect(try await c.domains[1].db.user(id: aliceID)?.username == "alice")
            _ = try await session.waitDispatch("GUILD_CREATE") { $0["d"]?["id"]?.stringValue == away.id.description }

            // Bob, at the eu edge, and Alice, at the us edge, see each other's messages.
            let bobSession = GatewayTestClient(url: GatewayFrames.url(c.edgeURLs[1]))
            bobSession.send(GatewayFrames.identify(bob))
            try await bobSession.waitDispatch("GUILD_CREATE")
            let posted = try await c.request(.POST, "/channels/\(general)/messages", token: alice,
                                             body: MessageCreateRequest(content: "hello from us")).decode(Message.self)
            #expect(posted.id.cell == 2, "the message is written in its channel's cell")
            let seen = try await bobSession.waitDispatch("MESSAGE_CREATE")
            #expect(seen["d"]?["author"]?["username"]?.stringValue == "alice")
            _ = try await c.request(.POST, "/channels/\(general)/messages", token: bob, body: MessageCreateRequest(content: "hi from eu"), edge: 1)
            _ = try await session.waitDispatch("MESSAGE_CREATE") { $0["d"]?["content"]?.stringValue == "hi from eu" }

            // Lists about Alice span both cells, through either edge.
            for edge in [0, 1] {
                let guilds = try await c.request(.GET, "/users/@me/guilds", token: alice, edge: edge).decode([PartialGuild].self)
                #expect(Set(guilds.map(\.id)) == [home.id, away.id], "edge \(edge)")
                let states = try await c.request(.GET, "/users/@me/read-states", token: alice, edge: edge).decode([ReadStateEntry].self)
                #expect(states.contains { $0.id == general } && states.contains { $0.id == home.system_channel_id })
            }
            let history = try await c.request(.GET, "/channels/\(general)/messages", token: alice).decode([Message].self)
            #expect(history.map(\.content).prefix(2) == ["hi from eu", "hello from us"])

            // A fresh IDENTIFY on the eu edge gathers both cells' workspaces into one READY.
            let again = GatewayTestClient(url: GatewayFrames.url(c.edgeURLs[1]))
            again.send(GatewayFrames.identify(alice))
            let ready = try await again.waitDispatch("READY")
            let ids = Set(ready["d"]?["guilds"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? [])
            #expect(ids == [home.id.description, away.id.description])
            #expect(ready["d"]?["user"]?["username"]?.stringValue == "alice")
            let unread = ready["d"]?["read_state"]?["entries"]?.arrayValue?.first { $0["id"]?.stringValue == general.description }
            #expect(unread?["unread_count"]?.intValue == 1, "Bob's reply is unread for Alice, counted in cell 2")
            for client in [session, bobSession, again] { client.close() }
        }
    }
}
