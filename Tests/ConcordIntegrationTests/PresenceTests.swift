import ConcordModels
import Foundation
import Testing

/// Presence end to end: statuses set through IDENTIFY and op 3 reach the members who share a
/// workspace exactly once per change, invisible looks offline to others, and a user whose
/// sessions stop refreshing goes offline within the TTL (2 s in tests).
@Suite("Presence")
struct PresenceTests {
    static let watching = 1 | 1 << 8 | 1 << 9  // GUILDS | GUILD_PRESENCES | GUILD_MESSAGES

    func identify(_ token: String, intents: Int = watching, presence: String? = nil) -> String {
        GatewayFrames.identify(token, intents: intents, presence: presence)
    }
    func gateway(_ c: TestCluster) -> String { GatewayFrames.url(c.edgeURL) }
    func presences(_ client: GatewayTestClient, of user: Snowflake) -> [String] {
        client.dispatches("PRESENCE_UPDATE").filter { $0["d"]?["user"]?["id"]?.stringValue == user.description }
            .compactMap { $0["d"]?["status"]?.stringValue }
    }

    /// Alice and Bob in one workspace, Bob's session watching presences.
    func twoMembers(_ c: TestCluster) async throws -> (alice: (Snowflake, String), bob: (Snowflake, String), guild: Snowflake, watcher: GatewayTestClient) {
        let alice = try await c.register("alice")
        let bob = try await c.register("bob")
        let guild = try await c.request(.POST, "/guilds", token: alice.1, body: GuildCreateRequest(name: "Presence")).decode(Guild.self)
        _ = try await c.domain.addMember(guild.id, userID: bob.0)
        let watcher = GatewayTestClient(url: gateway(c))
        watcher.send(identify(bob.1))
        try await watcher.waitDispatch("GUILD_CREATE")
        return (alice, bob, guild.id, watcher)
    }

    @Test func statusChangesReachMembersOnceAndInvisibleLooksOffline() async throws {
        try await TestCluster.with { c in
            let (alice, bobAccount, guild, bob) = try await twoMembers(c)
            let first = GatewayTestClient(url: gateway(c))
            first.send(identify(alice.1))
            let second = GatewayTestClient(url: gateway(c))
            second.send(identify(alice.1))
            try await eventually("alice online for bob") { presences(bob, of: alice.0) == ["online"] }
            try await first.waitDispatch("READY")
            try await second.waitDispatch("READY")
            try await Task.sleep(for: .milliseconds(500))
            #expect(presences(bob, of: alice.0) == ["online"], "two sessions, one PRESENCE_UPDATE")

            first.send(#"{"op":3,"d":{"since":null,"status":"dnd","afk":false,"activities":[{"type":4,"name":"Custom Status","state":"in a meeting"}]}}"#)
            try await eventually("alice dnd for bob") { presences(bob, of: alice.0) == ["online", "dnd"] }
            let dnd = bob.dispatches("PRESENCE_UPDATE").last
            #expect(dnd?["d"]?["activities"]?.arrayValue?.first?["state"]?.stringValue == "in a meeting", "custom status is an activity of type 4")
            #expect(dnd?["d"]?["guild_id"]?.stringValue == guild.description)
            let counted = try await c.request(.GET, "/guilds/\(guild)?with_counts=true", token: alice.1).json
            #expect(counted?["approximate_presence_count"]?.intValue == 2)

            // A session that identifies now finds alice's presence in GUILD_CREATE.
            let late = GatewayTestClient(url: gateway(c))
            late.send(identify(bobAccount.1))
            let create = try await late.waitDispatch("GUILD_CREATE")
            let listed = create["d"]?["presences"]?.arrayValue?.first { $0["user"]?["id"]?.stringValue == alice.0.description }
            #expect(listed?["status"]?.stringValue == "dnd")

            // Large workspaces send presences only on request: REQUEST_GUILD_MEMBERS with presences=true.
            late.send(#"{"op":8,"d":{"guild_id":"\#(guild)","query":"","limit":0,"presences":true,"nonce":"p"}}"#)
            let chunk = try await late.waitDispatch("GUILD_MEMBERS_CHUNK")
            let chunked = chunk["d"]?["presences"]?.arrayValue?.first { $0["user"]?["id"]?.stringValue == alice.0.description }
            #expect(chunked?["status"]?.stringValue == "dnd")

            first.send(#"{"op":3,"d":{"since":null,"status":"invisible","afk":false,"activities":[]}}"#)
            try await eventually("alice looks offline to bob") { presences(bob, of: alice.0) == ["online", "dnd", "offline"] }
            try await eventually("alice's own session sees invisible") { presences(second, of: alice.0).last == "invisible" }
            let recounted = try await c.request(.GET, "/guilds/\(guild)?with_counts=true", token: alice.1).json
            #expect(recounted?["approximate_presence_count"]?.intValue == 1, "invisible is not counted online")
            for client in [first, second, bob, late] { client.close() }
        }
    }

    /// A member added while their session is open gets the workspace as READY would show it:
    /// every member, the presences of the others online (not their own), their join time.
    @Test func aJoinersGuildCreateListsMembersAndTheOthersPresences() async throws {
        try await TestCluster.with { c in
            let (alice, bobAccount, guild, bob) = try await twoMembers(c)
            let online = GatewayTestClient(url: gateway(c))
            online.send(identify(alice.1, presence: "idle"))
            try await eventually("alice idle for bob") { presences(bob, of: alice.0) == ["idle"] }
            let carol = try await c.register("carol")
            let joiner = GatewayTestClient(url: gateway(c))
            joiner.send(identify(carol.1))
            try await joiner.waitDispatch("READY")
            _ = try await c.domain.addMember(guild, userID: carol.0)
            let create = try await joiner.waitDispatch("GUILD_CREATE")
            let members = create["d"]?["members"]?.arrayValue?.compactMap { $0["user"]?["id"]?.stringValue } ?? []
            #expect(Set(members) == Set([alice.0, bobAccount.0, carol.0].map(\.description)))
            let listed = create["d"]?["presences"]?.arrayValue ?? []
            #expect(listed.first { $0["user"]?["id"]?.stringValue == alice.0.description }?["status"]?.stringValue == "idle")
            #expect(!listed.contains { $0["user"]?["id"]?.stringValue == carol.0.description }, "not the joiner's own")
            #expect(create["d"]?["joined_at"]?.stringValue != nil)
            #expect(create["d"]?["large"] == .bool(false))
            online.close()
            joiner.close()
            bob.close()
        }
    }

    @Test func aUserWhoseSessionsStopGoesOfflineWithinTheTTLOnce() async throws {
        try await TestCluster.with { c in
            let (alice, _, _, bob) = try await twoMembers(c)
            let session = GatewayTestClient(url: gateway(c))
            session.send(identify(alice.1, presence: "idle"))
            try await eventually("alice idle for bob") { presences(bob, of: alice.0) == ["idle"] }
            // Well within the TTL the edge keeps refreshing her: no flapping.
            try await Task.sleep(for: .seconds(3))
            #expect(presences(bob, of: alice.0) == ["idle"])
            session.close()
            try await eventually("alice offline for bob", timeout: .seconds(8)) { presences(bob, of: alice.0) == ["idle", "offline"] }
            try await Task.sleep(for: .seconds(1))
            #expect(presences(bob, of: alice.0) == ["idle", "offline"], "exactly one offline")
            bob.close()
        }
    }

    @Test func killingTheEdgeProcessTakesItsUsersOfflineWithinTheTTL() async throws {
        try await TestCluster.with { c in
            let (alice, _, _, bob) = try await twoMembers(c)
            let edge = try await EdgeProcess.start(joining: c)
            let session = GatewayTestClient(url: GatewayFrames.url(edge.url))
            session.send(identify(alice.1))
            try await eventually("alice online for bob, through the other edge") { presences(bob, of: alice.0) == ["online"] }
            edge.kill9()
            try await eventually("alice offline after SIGKILL", timeout: .seconds(8)) { presences(bob, of: alice.0) == ["online", "offline"] }
            try await Task.sleep(for: .seconds(1))
            #expect(presences(bob, of: alice.0) == ["online", "offline"], "exactly one offline")
            bob.close()
        }
    }
}
