import ConcordModels
import Foundation
import Testing

/// Roles through Discord's routes: created, listed, edited, moved, given and taken, deleted;
/// permissions they grant are enforced at once (deleting others' messages here); the hierarchy
/// holds (nobody acts on a role at or above their own, nor grants what they lack); sessions get
/// GUILD_ROLE_* and GUILD_MEMBER_UPDATE.
@Suite("Roles")
struct RoleTests {
    @Test func rolesGrantPermissionsWithinTheHierarchy() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let (bobID, bob) = try await c.register("bob")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Ranks")).decode(Guild.self)
            let general = try #require(guild.system_channel_id)
            let invite = try await c.request(.POST, "/channels/\(general)/invites", token: alice, json: "{}").decode(Invite.self)
            #expect(try await c.request(.POST, "/invites/\(invite.code)", token: bob).status == 200)
            let session = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            // (GUILD_MEMBER_UPDATE comes with the GUILD_MEMBERS intent, as on Discord.)
            session.send(GatewayFrames.identify(bob, intents: GatewayFrames.defaultIntents | 1 << 1))
            let created = try await session.waitDispatch("GUILD_CREATE")
            #expect(created["d"]?["roles"]?.arrayValue?.first?["id"]?.stringValue == guild.id.description, "@everyone, with the workspace's id")

            func post(_ content: String) async throws -> Snowflake {
                try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: content)).decode(Message.self).id
            }
            let first = try await post("first")
            let refused = try await c.request(.DELETE, "/channels/\(general)/messages/\(first)", token: bob)
            #expect(refused.status == 403 && refused.json?["code"]?.intValue == 50013)
            #expect(try await c.request(.POST, "/guilds/\(guild.id)/roles", token: bob, json: #"{"name":"mine"}"#).status == 403)

            // The owner makes two roles; the newer starts at the bottom.
            let managePermissions = Permissions([.manageMessages, .manageRoles]).rawValue
            let mods = try await c.request(.POST, "/guilds/\(guild.id)/roles", token: alice,
                                           json: #"{"name":"Moderators","permissions":"\#(managePermissions)","color":3447003,"hoist":true}"#).decode(Role.self)
            let helpers = try await c.request(.POST, "/guilds/\(guild.id)/roles", token: alice, json: #"{"name":"Helpers"}"#).decode(Role.self)
            #expect(mods.permissions == String(managePermissions) && mods.color == 3447003 && mods.hoist)
            let listed = try await c.request(.GET, "/guilds/\(guild.id)/roles", token: bob).decode([Role].self)
            #expect(try await c.request(.GET, "/guilds/\(guild.id)/roles/\(mods.id)", token: bob).decode(Role.self) == listed.first { $0.id == mods.id })
            #expect(try await c.request(.GET, "/guilds/\(guild.id)/roles/1", token: bob).json?["code"]?.intValue == 10011)
            #expect(listed.map(\.name) == ["@everyone", "Helpers", "Moderators"] && listed.map(\.position) == [0, 1, 2])
            _ = try await session.waitDispatch("GUILD_ROLE_CREATE") { $0["d"]?["role"]?["name"]?.stringValue == "Helpers" }

            // Bob becomes a moderator: he may delete others' messages now.
            #expect(try await c.request(.PUT, "/guilds/\(guild.id)/members/\(bobID)/roles/\(mods.id)", token: alice).status == 204)
            let update = try await session.waitDispatch("GUILD_MEMBER_UPDATE")
            #expect(update["d"]?["roles"]?.arrayValue?.compactMap(\.stringValue) == [mods.id.description])
            #expect(update["d"]?["user"]?["id"]?.stringValue == bobID.description && update["d"]?["guild_id"]?.stringValue == guild.id.description)
            #expect(try await c.request(.DELETE, "/channels/\(general)/messages/\(first)", token: bob).status == 204)
            let member = try await c.request(.GET, "/guilds/\(guild.id)/members/\(bobID)", token: alice).decode(Member.self)
            #expect(member.roles == [mods.id])

            // Below his own role he manages, and grants only what he holds.
            let gave = try await c.request(.PATCH, "/guilds/\(guild.id)/roles/\(helpers.id)", token: bob,
                                           json: #"{"permissions":"\#(Permissions.manageMessages.rawValue)"}"#)
            #expect(gave.status == 200, "\(gave.text)")
            let tooMuch = try await c.request(.PATCH, "/guilds/\(guild.id)/roles/\(helpers.id)", token: bob,
                                              json: #"{"permissions":"\#(Permissions([.manageMessages, .banMembers]).rawValue)"}"#)
            #expect(tooMuch.status == 403 && tooMuch.json?["code"]?.intValue == 50013)
            #expect(try await c.request(.PATCH, "/guilds/\(guild.id)/roles/\(mods.id)", token: bob, json: #"{"name":"Bosses"}"#).status == 403,
                    "not his own most senior role")
            #expect(try await c.request(.DELETE, "/guilds/\(guild.id)/roles/\(mods.id)", token: bob).status == 403)
            #expect(try await c.request(.PATCH, "/guilds/\(guild.id)/roles", token: bob,
                                        json: #"[{"id":"\#(helpers.id)","position":2}]"#).status == 403, "nor moves a role up to his own")
            #expect(try await c.request(.PUT, "/guilds/\(guild.id)/members/\(bobID)/roles/12345", token: alice).json?["code"]?.intValue == 10011)
            let badPermissions = try await c.request(.POST, "/guilds/\(guild.id)/roles", token: alice, json: #"{"permissions":"-1"}"#)
            #expect(badPermissions.status == 400 && badPermissions.json?["code"]?.intValue == 50035)

            // The owner reorders them, deletes one, and takes the other back.
            let reordered = try await c.request(.PATCH, "/guilds/\(guild.id)/roles", token: alice,
                                                json: #"[{"id":"\#(helpers.id)","position":2}]"#).decode([Role].self)
            #expect(reordered.map(\.name) == ["@everyone", "Moderators", "Helpers"] && reordered.map(\.position) == [0, 1, 2])
            #expect(try await c.request(.DELETE, "/guilds/\(guild.id)/roles/\(helpers.id)", token: alice).status == 204)
            _ = try await session.waitDispatch("GUILD_ROLE_DELETE") { $0["d"]?["role_id"]?.stringValue == helpers.id.description }
            #expect(try await c.request(.GET, "/guilds/\(guild.id)", token: bob).decode(Guild.self).roles.map(\.name) == ["@everyone", "Moderators"])
            #expect(try await c.request(.DELETE, "/guilds/\(guild.id)/members/\(bobID)/roles/\(mods.id)", token: alice).status == 204)
            let second = try await post("second")
            #expect(try await c.request(.DELETE, "/channels/\(general)/messages/\(second)", token: bob).status == 403, "the permission went with the role")
            session.close()
        }
    }
}
