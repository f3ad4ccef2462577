import ConcordModels
import Foundation
import NIOHTTP1
import Testing

/// Pins and bulk delete through Discord's routes, with their events, limits and permissions.
@Suite("Pins and bulk delete")
struct PinTests {
    @Test func pinsAreListedAnnouncedAndNoted() async throws {
        try await TestCluster.with { c in
            let pair = try await c.workspaceOfTwo("Pinning")
            let (alice, bob, guild, general) = (pair.owner.token, pair.member.token, pair.guild, pair.general)
            let aliceID = pair.owner.id
            let watcher = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            watcher.send(GatewayFrames.identify(bob))
            _ = try await watcher.waitDispatch("GUILD_CREATE")
            var messages: [Message] = []
            for text in ["one", "two", "three"] {
                messages.append(try await c.request(.POST, "/channels/\(general)/messages", token: bob, body: MessageCreateRequest(content: text)).decode(Message.self))
            }

            // Pinning takes MANAGE_MESSAGES; a pin sends the message's update, the channel's pins update and a system message.
            #expect(try await c.request(.PUT, "/channels/\(general)/messages/pins/\(messages[0].id)", token: bob).status == 403)
            #expect(try await c.request(.PUT, "/channels/\(general)/messages/pins/\(messages[0].id)", token: alice).status == 204)
            let update = try await watcher.waitDispatch("MESSAGE_UPDATE") { $0["d"]?["id"]?.stringValue == messages[0].id.description }
            #expect(update["d"]?["pinned"]?.boolValue == true)
            let pinsUpdate = try await watcher.waitDispatch("CHANNEL_PINS_UPDATE")
            #expect(pinsUpdate["d"]?["channel_id"]?.stringValue == general.description && pinsUpdate["d"]?["last_pin_timestamp"]?.stringValue != nil)
            let notice = try await watcher.waitDispatch("MESSAGE_CREATE") { $0["d"]?["type"]?.intValue == 6 }
            #expect(notice["d"]?["author"]?["id"]?.stringValue == aliceID.description)
            #expect(notice["d"]?["message_reference"]?["message_id"]?.stringValue == messages[0].id.description)
            #expect(try await c.request(.PUT, "/channels/\(general)/pins/\(messages[0].id)", token: alice).status == 204, "again, by the older route: nothing new")
            #expect(try await c.request(.GET, "/channels/\(general)/messages/\(messages[0].id)", token: bob).decode(Message.self).pinned)
            let noticeID = try #require(notice["d"]?["id"]?.stringValue.flatMap(Snowflake.init))
            let system = try await c.request(.PUT, "/channels/\(general)/messages/pins/\(noticeID)", token: alice)
            #expect(system.status == 400 && system.json?["code"]?.intValue == 50021)

            // Listed newest pin first, in pages by pin time; the older route lists them all.
            #expect(try await c.request(.PUT, "/channels/\(general)/messages/pins/\(messages[2].id)", token: alice).status == 204)
            #expect(try await c.request(.PUT, "/channels/\(general)/messages/pins/\(messages[1].id)", token: alice).status == 204)
            let page = try await c.request(.GET, "/channels/\(general)/messages/pins?limit=2", token: bob).decode(PinnedMessages.self)
            #expect(page.items.map(\.message.id) == [messages[1].id, messages[2].id] && page.has_more)
            #expect(page.items.allSatisfy { $0.message.pinned })
            let before = page.items[1].pinned_at.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let next = try await c.request(.GET, "/channels/\(general)/messages/pins?before=\(before)", token: bob).decode(PinnedMessages.self)
            #expect(next.items.map(\.message.id) == [messages[0].id] && !next.has_more)
            #expect(try await c.request(.GET, "/channels/\(general)/pins", token: bob).decode([Message].self).map(\.id) == [messages[1].id, messages[2].id, messages[0].id])
            #expect(try await c.request(.GET, "/channels/\(general)/messages/pins?before=yesterday", token: bob).status == 400)

            // Unpinning.
            #expect(try await c.request(.DELETE, "/channels/\(general)/messages/pins/\(messages[1].id)", token: alice).status == 204)
            let unpinned = try await watcher.waitDispatch("MESSAGE_UPDATE") { $0["d"]?["id"]?.stringValue == messages[1].id.description && $0["d"]?["pinned"]?.boolValue == false }
            #expect(unpinned["d"]?["content"]?.stringValue == "two")
            #expect(try await c.request(.GET, "/channels/\(general)/pins", token: bob).decode([Message].self).map(\.id) == [messages[2].id, messages[0].id])
            let log = try await c.request(.GET, "/guilds/\(guild.id)/audit-logs", token: alice).decode(AuditLogResponse.self)
            #expect(log.audit_log_entries.prefix(4).map(\.action_type) == [75, 74, 74, 74])
        }
    }

    @Test func bulkDeleteTakesRecentMessagesInOneEvent() async throws {
        try await TestCluster.with { c in
            let pair = try await c.workspaceOfTwo("Sweeping")
            let (alice, bob, guild, general) = (pair.owner.token, pair.member.token, pair.guild, pair.general)
            let bobID = pair.member.id
            let watcher = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            watcher.send(GatewayFrames.identify(alice))
            _ = try await watcher.waitDispatch("GUILD_CREATE")
            var ids: [Snowflake] = []
            for n in 0..<4 {
                ids.append(try await c.request(.POST, "/channels/\(general)/messages", token: bob, body: MessageCreateRequest(content: "spam \(n)")).decode(Message.self).id)
            }
            #expect(try await c.request(.PUT, "/channels/\(general)/messages/\(ids[0])/reactions/%F0%9F%91%8D/@me", token: alice).status == 204)
            #expect(try await c.request(.PUT, "/channels/\(general)/messages/pins/\(ids[1])", token: alice).status == 204)

            func bulk(_ token: String, _ ids: [Snowflake]) async throws -> TestCluster.Reply {
                try await c.request(.POST, "/channels/\(general)/messages/bulk-delete", token: token, body: BulkDeleteRequest(messages: ids))
            }
            #expect(try await bulk(bob, ids).status == 403)
            for count in [1, 101] {
                let reply = try await bulk(alice, (0..<count).map { _ in ids[0] })
                #expect(reply.status == 400 && reply.json?["code"]?.intValue == 50035, "\(count) ids")
            }
            let old = SnowflakeGenerator(cell: 1, process: 1).next(now: Date().addingTimeInterval(-15 * 86_400))
            let tooOld = try await bulk(alice, [ids[0], old])
            #expect(tooOld.status == 400 && tooOld.json?["code"]?.intValue == 50034)

            let unknown = Snowflake(ids[3].rawValue + 1)
            #expect(try await bulk(alice, [ids[0], ids[1], ids[2], ids[2], unknown]).status == 204)
            let event = try await watcher.waitDispatch("MESSAGE_DELETE_BULK")
            #expect(event["d"]?["ids"]?.arrayValue?.compactMap(\.stringValue) == ids.prefix(3).map(\.description))
            #expect(event["d"]?["channel_id"]?.stringValue == general.description && event["d"]?["guild_id"]?.stringValue == guild.id.description)
            let left = try await c.request(.GET, "/channels/\(general)/messages?limit=10", token: alice).decode([Message].self)
            #expect(!left.contains { ids.prefix(3).contains($0.id) } && left.contains { $0.id == ids[3] })
            let gone = try await c.domain.db.decorations(channelID: general, messageIDs: Array(ids.prefix(3)), viewer: nil)
            #expect(gone.reactions.isEmpty && gone.pinned.isEmpty, "their reactions and pins went with them")
            let log = try await c.request(.GET, "/guilds/\(guild.id)/audit-logs?action_type=73", token: alice).decode(AuditLogResponse.self)
            #expect(log.audit_log_entries.first?.options == ["count": "3"] && log.audit_log_entries.first?.target_id == general)

            // Not in DMs.
            let dm = try await c.request(.POST, "/users/@me/channels", token: alice, json: #"{"recipient_id":"\#(bobID)"}"#).decode(DMChannel.self)
            let a = try await c.request(.POST, "/channels/\(dm.id)/messages", token: alice, body: MessageCreateRequest(content: "a")).decode(Message.self)
            let b = try await c.request(.POST, "/channels/\(dm.id)/messages", token: alice, body: MessageCreateRequest(content: "b")).decode(Message.self)
            let inDM = try await c.request(.POST, "/channels/\(dm.id)/messages/bulk-delete", token: alice, body: BulkDeleteRequest(messages: [a.id, b.id]))
            #expect(inDM.status == 400 && inDM.json?["code"]?.intValue == 50003)
        }
    }
}
