import ConcordModels
import Foundation
import NIOHTTP1
import Testing

/// The audit log: moderation and configuration actions recorded with X-Audit-Log-Reason, read
/// back with Discord's filters and pages, and announced to sessions that may read it.
@Suite("Audit log")
struct AuditLogTests {
    @Test func actionsAreRecordedWithTheirReasonsAndShownOnlyToThoseWhoMayReadThem() async throws {
        try await TestCluster.with { c in
            let (aliceID, alice) = try await c.register("alice")
            let (bobID, bob) = try await c.register("bob")
            let (carolID, carol) = try await c.register("carol")
            let (daveID, dave) = try await c.register("dave")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Records")).decode(Guild.self)
            let general = try #require(guild.system_channel_id)
            let invite = try await c.request(.POST, "/channels/\(general)/invites", token: alice, json: "{}").decode(Invite.self)
            for token in [bob, carol, dave] { #expect(try await c.request(.POST, "/invites/\(invite.code)", token: token).status == 200) }
            func reason(_ text: String) -> [(String, String)] {
                [("X-Audit-Log-Reason", text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text)]
            }

            // Carol moderates (and may read the log); bob may not.
            let rights = Permissions([.viewAuditLog, .kickMembers, .banMembers, .manageMessages, .moderateMembers]).rawValue
            let mods = try await c.request(.POST, "/guilds/\(guild.id)/roles", token: alice, json: #"{"name":"mods","permissions":"\#(rights)"}"#,
                                           headers: reason("a team for the night shift")).decode(Role.self)
            #expect(try await c.request(.PUT, "/guilds/\(guild.id)/members/\(carolID)/roles/\(mods.id)", token: alice).status == 204)
            let moderation = GatewayFrames.defaultIntents | 1 << 2
            let carolSession = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            carolSession.send(GatewayFrames.identify(carol, intents: moderation))
            _ = try await carolSession.waitDispatch("GUILD_CREATE")
            let bobSession = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            bobSession.send(GatewayFrames.identify(bob, intents: moderation))
            _ = try await bobSession.waitDispatch("GUILD_CREATE")

            // A moderator deletes dave's message, times him out, then kicks bob and bans dave.
            let message = try await c.request(.POST, "/channels/\(general)/messages", token: dave, body: MessageCreateRequest(content: "spam")).decode(Message.self)
            #expect(try await c.request(.DELETE, "/channels/\(general)/messages/\(message.id)", token: carol, headers: reason("spam")).status == 204)
            let until = DiscordTimestamp.string(from: Date().addingTimeInterval(600))
            #expect(try await c.request(.PATCH, "/guilds/\(guild.id)/members/\(daveID)", token: carol,
                                        json: #"{"communication_disabled_until":"\#(until)"}"#, headers: reason("cool off")).status == 200)
            #expect(try await c.request(.DELETE, "/guilds/\(guild.id)/members/\(bobID)", token: carol, headers: reason("Ünïcode & spaces / slashes")).status == 204)
            #expect(try await c.request(.PUT, "/guilds/\(guild.id)/bans/\(daveID)", token: carol, json: "{}", headers: reason("raid")).status == 204)
            #expect(try await c.request(.GET, "/guilds/\(guild.id)/bans/\(daveID)", token: carol).decode(Ban.self).reason == "raid")
            #expect(try await c.request(.DELETE, "/guilds/\(guild.id)/bans/\(daveID)", token: carol).status == 204)
            let view = Permissions.viewChannel.rawValue
            #expect(try await c.request(.PUT, "/channels/\(general)/permissions/\(mods.id)", token: alice, json: #"{"type":0,"allow":"\#(view)"}"#).status == 204)

            // The log, newest first, with the users it names.
            let log = try await c.request(.GET, "/guilds/\(guild.id)/audit-logs", token: carol).decode(AuditLogResponse.self)
            let actions = log.audit_log_entries.map(\.action_type)
            #expect(Array(actions.prefix(7)) == [13, 23, 22, 20, 24, 72, 25], "\(actions)")
            #expect(actions.contains(30) && actions.contains(40))
            let byAction = Dictionary(log.audit_log_entries.map { ($0.action_type, $0) }, uniquingKeysWith: { a, _ in a })
            #expect(byAction[20]?.reason == "Ünïcode & spaces / slashes" && byAction[20]?.target_id == bobID && byAction[20]?.user_id == carolID)
            #expect(byAction[22]?.reason == "raid" && byAction[23]?.reason == nil)
            #expect(byAction[72]?.options == ["channel_id": general.description, "count": "1"] && byAction[72]?.target_id == daveID)
            #expect(byAction[24]?.changes?.first?.key == "communication_disabled_until")
            #expect(byAction[25]?.changes?.first?.key == "$add")
            #expect(byAction[30]?.reason == "a team for the night shift" && byAction[30]?.changes?.contains { $0.key == "name" && $0.new_value == .string("mods") } == true)
            #expect(byAction[13]?.target_id == general && byAction[13]?.options?["id"] == mods.id.description && byAction[13]?.options?["type"] == "0")
            #expect(Set(log.users.map(\.id)).isSuperset(of: [aliceID, bobID, carolID, daveID]))

            // Discord's filters and pages.
            let kicks = try await c.request(.GET, "/guilds/\(guild.id)/audit-logs?action_type=20", token: carol).decode(AuditLogResponse.self)
            #expect(kicks.audit_log_entries.map(\.target_id) == [bobID])
            let alices = try await c.request(.GET, "/guilds/\(guild.id)/audit-logs?user_id=\(aliceID)", token: carol).decode(AuditLogResponse.self)
            #expect(!alices.audit_log_entries.isEmpty && alices.audit_log_entries.allSatisfy { $0.user_id == aliceID })
            let first = try await c.request(.GET, "/guilds/\(guild.id)/audit-logs?limit=2", token: carol).decode(AuditLogResponse.self).audit_log_entries
            let next = try await c.request(.GET, "/guilds/\(guild.id)/audit-logs?limit=2&before=\(first[1].id)", token: carol).decode(AuditLogResponse.self).audit_log_entries
            #expect(first.map(\.id) + next.map(\.id) == Array(log.audit_log_entries.prefix(4).map(\.id)))
            let oldest = try #require(log.audit_log_entries.last)
            let after = try await c.request(.GET, "/guilds/\(guild.id)/audit-logs?limit=2&after=\(oldest.id)", token: carol).decode(AuditLogResponse.self).audit_log_entries
            #expect(after.map(\.id) == Array(log.audit_log_entries.dropLast().suffix(2).map(\.id)), "the two right after, newest first")

            // Only those with VIEW_AUDIT_LOG read it, over REST or the gateway.
            let refused = try await c.request(.GET, "/guilds/\(guild.id)/audit-logs", token: dave)
            #expect(refused.status == 403 || refused.status == 404)
            _ = try await carolSession.waitDispatch("GUILD_AUDIT_LOG_ENTRY_CREATE") { $0["d"]?["action_type"]?.intValue == 13 }
            #expect(bobSession.dispatches("GUILD_AUDIT_LOG_ENTRY_CREATE").isEmpty)
            let entry = try #require(carolSession.dispatches("GUILD_AUDIT_LOG_ENTRY_CREATE").first { $0["d"]?["action_type"]?.intValue == 20 })
            #expect(entry["d"]?["guild_id"]?.stringValue == guild.id.description && entry["d"]?["reason"]?.stringValue == "Ünïcode & spaces / slashes")

            // Bad reasons and queries are form errors, and record nothing.
            let long = try await c.request(.DELETE, "/guilds/\(guild.id)/roles/\(mods.id)", token: alice, headers: reason(String(repeating: "x", count: 513)))
            #expect(long.status == 400 && long.json?["code"]?.intValue == 50035)
            let nul = try await c.request(.DELETE, "/guilds/\(guild.id)/roles/\(mods.id)", token: alice, headers: [("X-Audit-Log-Reason", "bad%00reason")])
            #expect(nul.status == 400 && nul.json?["code"]?.intValue == 50035, "a NUL in the reason: \(nul.text)")
            #expect(try await c.request(.GET, "/guilds/\(guild.id)/roles", token: alice).decode([Role].self).contains { $0.id == mods.id })
            for query in ["limit=0", "limit=101", "before=-1", "user_id=x", "action_type=18446744073709551615"] {
                #expect(try await c.request(.GET, "/guilds/\(guild.id)/audit-logs?\(query)", token: carol).status == 400, "\(query)")
            }
            for session in [carolSession, bobSession] { session.close() }
        }
    }
}
