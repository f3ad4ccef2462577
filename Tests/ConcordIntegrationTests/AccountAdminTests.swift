import ConcordModels
import Foundation
import Testing

/// Operators' everyday account commands, run as `concordctl` processes against a two-cell cluster.
@Suite("Operators' account commands")
struct AccountAdminTests {
    static func lines(_ log: String) -> [JSONValue] {
        log.split(separator: "\n").compactMap { try? WireJSON.decode(JSONValue.self, from: Data($0.utf8)) }
    }

    @Test func listSearchShowDeactivateResetAndErase() async throws {
        try await TestCluster.with(cells: 2, edges: 2) { c in
            let (aliceID, alice) = try await c.register("alice", edge: 0)
            let (bobID, bob) = try await c.register("bob", edge: 1)
            _ = try await c.register("carol", edge: 1)
            #expect(aliceID.cell == 1 && bobID.cell == 2)
            let own = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Alice's")).decode(Guild.self)
            let away = try await c.request(.POST, "/guilds", token: bob, body: GuildCreateRequest(name: "Bob's"), edge: 1).decode(Guild.self)
            let general = try #require(away.system_channel_id)
            let invite = try await c.request(.POST, "/channels/\(general)/invites", token: bob, json: "{}", edge: 1).decode(Invite.self)
            #expect(try await c.request(.POST, "/invites/\(invite.code)", token: alice, edge: 1).status == 200)
            var written: [Snowflake] = []
            for i in 0..<3 {
                written.append(try await c.request(.POST, "/channels/\(general)/messages", token: alice,
                                                   body: MessageCreateRequest(content: "alice \(i)")).decode(Message.self).id)
            }
            let kept = try await c.request(.POST, "/channels/\(general)/messages", token: bob, body: MessageCreateRequest(content: "bob stays"),
                                           edge: 1).decode(Message.self)

            // List and search span both cells; show finds her workspaces in each.
            let listed = Self.lines(try await c.concordctl(["user", "list", "--json"]).log)
            #expect(Set(listed.compactMap { $0["username"]?.stringValue }) == ["alice", "bob", "carol"])
            let found = Self.lines(try await c.concordctl(["user", "list", "--search", "LIC", "--json"]).log)
            #expect(found.compactMap { $0["id"]?.stringValue } == [aliceID.description])
            let shown = try #require(Self.lines(try await c.concordctl(["user", "show", aliceID.description, "--json"]).log).first)
            #expect(shown["workspaces"]?[c.config.cells[0].name]?.arrayValue?.compactMap(\.stringValue) == [own.id.description])
            #expect(shown["workspaces"]?[c.config.cells[1].name]?.arrayValue?.compactMap(\.stringValue) == [away.id.description])
            let tokens = Self.lines(try await c.concordctl(["token", "list", "--user", aliceID.description, "--json"]).log)
            #expect(tokens.count == 1 && tokens[0]["revoked_at"] == nil)

            // Deactivated: her token stops working, and so does her password; reactivated, she logs in again.
            #expect(try await c.concordctl(["user", "deactivate", aliceID.description]).status == 0)
            try await eventually("her token is refused") { try await c.request(.GET, "/users/@me", token: alice).status == 401 }
            let login = #"{"login":"alice","password":"correct horse battery"}"#
            #expect(try await c.request(.POST, "/auth/login", json: login).status == 400)
            #expect(try await c.concordctl(["user", "reactivate", aliceID.description]).status == 0)
            #expect(try await c.request(.POST, "/auth/login", json: login).status == 200)
            // A password reset: the old one no longer works, the printed one does.
            let reset = try #require(Self.lines(try await c.concordctl(["user", "reset-password", aliceID.description, "--json"]).log).first)
            let password = try #require(reset["password"]?.stringValue)
            #expect(try await c.request(.POST, "/auth/login", json: login).status == 400)
            let fresh = try await c.request(.POST, "/auth/login", json: #"{"login":"alice","password":"\#(password)"}"#)
            #expect(fresh.status == 200)
            let token = try #require(fresh.json?["token"]?.stringValue)

            // Erasure waits while she owns a workspace; once it is deleted, it goes through.
            let refused = try await c.concordctl(["user", "delete", aliceID.description, "--yes"])
            #expect(refused.status != 0 && refused.log.contains("owns workspaces \(own.id)"), "\(refused.log)")
            #expect(try await c.request(.GET, "/users/@me", token: token).status == 200, "a refused erasure touched nothing")
            let bobSession = GatewayTestClient(url: GatewayFrames.url(c.edgeURLs[1]))
            bobSession.send(GatewayFrames.identify(bob))
            try await bobSession.waitDispatch("GUILD_CREATE")
            #expect(try await c.concordctl(["workspace", "delete", own.id.description, "--yes"]).status == 0)
            #expect(try await c.domains[0].db.workspace(id: own.id) == nil)
            let erased = try await c.concordctl(["user", "delete", aliceID.description, "--yes", "--json"])
            #expect(erased.status == 0, "\(erased.log)")
            let perCell = Self.lines(erased.log).filter { $0["cell"] != nil }
            #expect(perCell.compactMap { $0["messages_deleted"]?.intValue }.reduce(0, +) == 3, "\(erased.log)")
            #expect(perCell.allSatisfy { $0["profile_erased"]?.boolValue == true }, "her home copy and her replica in cell 2")

            // Bob's clients hear each deletion; her messages are gone, his stay; she is no member.
            for id in written {
                _ = try await bobSession.waitDispatch("MESSAGE_DELETE") { $0["d"]?["id"]?.stringValue == id.description }
            }
            let left = try await c.request(.GET, "/channels/\(general)/messages", token: bob, edge: 1).decode([Message].self)
            #expect(left.map(\.id).contains(kept.id) && !left.contains { written.contains($0.id) })
            #expect(try await c.request(.GET, "/guilds/\(away.id)/members/\(aliceID)", token: bob, edge: 1).status == 404)
            // Her account is a tombstone in both cells: no name, no login, no token.
            for domain in c.domains {
                let user = try #require(try await domain.db.user(id: aliceID))
                #expect(user.username.hasPrefix("deleted_user_") && user.global_name == nil)
            }
            #expect(try await c.request(.POST, "/auth/login", json: #"{"login":"alice","password":"\#(password)"}"#).status == 400)
            try await eventually("her token is refused") { try await c.request(.GET, "/users/@me", token: token).status == 401 }
            bobSession.close()
        }
    }

    /// Erasure goes a page at a time through all a person wrote, past the first page of 500,
    /// in workspaces they have left as in those they are in.
    @Test func erasureTakesEveryPageOfMessagesAndThoseOfWorkspacesLeft() async throws {
        try await TestCluster.with { c in
            let (aliceID, alice) = try await c.register("alice")
            let (_, bob) = try await c.register("bob")
            let left = try await c.request(.POST, "/guilds", token: bob, body: GuildCreateRequest(name: "Left")).decode(Guild.self)
            let invite = try await c.request(.POST, "/channels/\(left.system_channel_id!)/invites", token: bob, json: "{}").decode(Invite.self)
            #expect(try await c.request(.POST, "/invites/\(invite.code)", token: alice).status == 200)
            let seeded = try await c.concordctl(["bench", "seed-history", "--channel", left.system_channel_id!.description,
                                                 "--author", aliceID.description, "--count", "501", "--days", "1"])
            #expect(seeded.status == 0, "\(seeded.log)")
            #expect(try await c.request(.DELETE, "/users/@me/guilds/\(left.id)", token: alice).status == 204)
            let kept = try await c.request(.POST, "/guilds", token: bob, body: GuildCreateRequest(name: "Kept")).decode(Guild.self)
            let again = try await c.request(.POST, "/channels/\(kept.system_channel_id!)/invites", token: bob, json: "{}").decode(Invite.self)
            #expect(try await c.request(.POST, "/invites/\(again.code)", token: alice).status == 200)
            let late = try await c.request(.POST, "/channels/\(kept.system_channel_id!)/messages", token: alice,
                                           body: MessageCreateRequest(content: "after the page")).decode(Message.self)

            let erased = try await c.concordctl(["user", "delete", aliceID.description, "--yes", "--json"])
            #expect(erased.status == 0, "\(erased.log)")
            let facts = Self.lines(erased.log).filter { $0["cell"] != nil }
            #expect(facts.first?["messages_deleted"]?.intValue == 502, "\(erased.log)")
            #expect(try await c.request(.GET, "/channels/\(kept.system_channel_id!)/messages/\(late.id)", token: bob).status == 404)
            let leftBehind = try await c.request(.GET, "/channels/\(left.system_channel_id!)/messages?limit=100", token: bob).decode([Message].self)
            #expect(!leftBehind.contains { $0.author.id == aliceID }, "none of hers stays in the workspace she left")
        }
    }
}
