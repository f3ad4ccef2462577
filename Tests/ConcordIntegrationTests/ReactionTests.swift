import ConcordModels
import ConcordStorage
import ConcordTiering
import Foundation
import NIOHTTP1
import Testing

/// Reactions through Discord's routes: counts and `me` on messages and history pages, the
/// four reaction events under their intent, ADD_REACTIONS and MANAGE_MESSAGES, Discord's
/// errors for unknown emoji and the 20-emoji limit.
@Suite("Reactions")
struct ReactionTests {
    static func path(_ emoji: String) -> String { emoji.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? emoji }

    @Test func reactionsAreCountedShownPerViewerAndAnnounced() async throws {
        try await TestCluster.with { c in
            let pair = try await c.workspaceOfTwo("Reacting")
            let (alice, bob, guild, general) = (pair.owner.token, pair.member.token, pair.guild, pair.general)
            let aliceID = pair.owner.id
            let bobID = pair.member.id
            let watcher = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            watcher.send(GatewayFrames.identify(alice, intents: GatewayFrames.defaultIntents | 1 << 10))
            _ = try await watcher.waitDispatch("GUILD_CREATE")
            let deaf = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            deaf.send(GatewayFrames.identify(bob))
            _ = try await deaf.waitDispatch("GUILD_CREATE")

            let message = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "react to me")).decode(Message.self)
            let base = "/channels/\(general)/messages/\(message.id)/reactions"
            let thumbs = Self.path("👍"), family = Self.path("👨‍👩‍👧"), keycap = Self.path("1️⃣")

            // Bob reacts; the watcher (GUILD_MESSAGE_REACTIONS) hears it, bob's own session (without it) does not.
            #expect(try await c.request(.PUT, "\(base)/\(thumbs)/@me", token: bob).status == 204)
            #expect(try await c.request(.PUT, "\(base)/\(thumbs)/@me", token: bob).status == 204, "again: nothing changes")
            let added = try await watcher.waitDispatch("MESSAGE_REACTION_ADD")
            #expect(added["d"]?["emoji"]?["name"]?.stringValue == "👍" && added["d"]?["emoji"]?["id"] == .null)
            #expect(added["d"]?["user_id"]?.stringValue == bobID.description && added["d"]?["message_author_id"]?.stringValue == aliceID.description)
            #expect(added["d"]?["member"]?["user"]?["id"]?.stringValue == bobID.description && added["d"]?["guild_id"]?.stringValue == guild.id.description)
            #expect(try await c.request(.PUT, "\(base)/\(thumbs)/@me", token: alice).status == 204)
            #expect(try await c.request(.PUT, "\(base)/\(family)/@me", token: alice).status == 204)
            #expect(try await c.request(.PUT, "\(base)/\(keycap)/@me", token: alice).status == 204)

            // Counts for everyone, `me` for each viewer, on the message and on history pages (also when served hot).
            func reactions(_ token: String, fromHistory: Bool) async throws -> [Reaction] {
                if fromHistory {
                    let page = try await c.request(.GET, "/channels/\(general)/messages?limit=5", token: token).decode([Message].self)
                    return try #require(page.first { $0.id == message.id }?.reactions)
                }
                return try #require(try await c.request(.GET, "/channels/\(general)/messages/\(message.id)", token: token).decode(Message.self).reactions)
            }
            for fromHistory in [false, true, true] {
                let seenByBob = try await reactions(bob, fromHistory: fromHistory)
                #expect(seenByBob.map(\.emoji.name) == ["👍", "👨‍👩‍👧", "1️⃣"], "in the order first used")
                #expect(seenByBob.map(\.count) == [2, 1, 1] && seenByBob.map(\.me) == [true, false, false])
                #expect(seenByBob[0].count_details.normal == 2 && seenByBob[0].count_details.burst == 0)
                #expect(try await reactions(alice, fromHistory: fromHistory).map(\.me) == [true, true, true])
            }
            #expect(deaf.dispatches("MESSAGE_REACTION_ADD").isEmpty)

            // Who reacted, by id, in pages.
            let users = try await c.request(.GET, "\(base)/\(thumbs)", token: bob).decode([User].self)
            #expect(users.map(\.id) == [aliceID, bobID].sorted())
            let first = try await c.request(.GET, "\(base)/\(thumbs)?limit=1", token: bob).decode([User].self)
            let rest = try await c.request(.GET, "\(base)/\(thumbs)?after=\(first[0].id)", token: bob).decode([User].self)
            #expect(first.map(\.id) + rest.map(\.id) == users.map(\.id))
            #expect(try await c.request(.GET, "\(base)/\(thumbs)?type=1", token: bob).decode([User].self).isEmpty, "no super reactions")
            #expect(try await c.request(.GET, "\(base)/\(thumbs)?limit=101", token: bob).status == 400)

            // Not emoji, custom emoji (none exist yet), a NUL, a long string: Unknown Emoji.
            for bad in ["abc", "party:123456789012345678", "%00", Self.path(String(repeating: "👍", count: 40)), "1", Self.path("👍a")] {
                let reply = try await c.request(.PUT, "\(base)/\(bad)/@me", token: bob)
                #expect(reply.status == 404 && reply.json?["code"]?.intValue == 10014, "\(bad): \(reply.text)")
            }
            #expect(try await c.request(.PUT, "/channels/\(general)/messages/1234/reactions/\(thumbs)/@me", token: bob).json?["code"]?.intValue == 10008)

            // Removing: one's own; someone else's only with MANAGE_MESSAGES.
            #expect(try await c.request(.DELETE, "\(base)/\(thumbs)/\(aliceID)", token: bob).status == 403)
            #expect(try await c.request(.DELETE, "\(base)/\(thumbs)/@me", token: bob).status == 204)
            let removed = try await watcher.waitDispatch("MESSAGE_REACTION_REMOVE")
            #expect(removed["d"]?["user_id"]?.stringValue == bobID.description && removed["d"]?["emoji"]?["name"]?.stringValue == "👍")
            #expect(try await c.request(.PUT, "\(base)/\(thumbs)/@me", token: bob).status == 204)
            #expect(try await c.request(.DELETE, "\(base)/\(thumbs)/\(bobID)", token: alice).status == 204)
            #expect(try await reactions(alice, fromHistory: false).map(\.count) == [1, 1, 1])

            // At most 20 emoji on a message.
            let more = ["😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗", "😙"]
            for emoji in more { #expect(try await c.request(.PUT, "\(base)/\(Self.path(emoji))/@me", token: alice).status == 204) }
            let twentyFirst = try await c.request(.PUT, "\(base)/\(Self.path("🐢"))/@me", token: bob)
            #expect(twentyFirst.status == 400 && twentyFirst.json?["code"]?.intValue == 30010, "\(twentyFirst.text)")
            #expect(try await c.request(.PUT, "\(base)/\(Self.path("😀"))/@me", token: bob).status == 204, "an emoji already there may still be added")

            // Without ADD_REACTIONS one joins existing reactions but starts none.
            let deny = Permissions.addReactions.rawValue
            #expect(try await c.request(.PUT, "/channels/\(general)/permissions/\(guild.id)", token: alice, json: #"{"type":0,"deny":"\#(deny)"}"#).status == 204)
            let other = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "second")).decode(Message.self)
            let otherBase = "/channels/\(general)/messages/\(other.id)/reactions"
            #expect(try await c.request(.PUT, "\(otherBase)/\(thumbs)/@me", token: bob).status == 403)
            #expect(try await c.request(.PUT, "\(otherBase)/\(thumbs)/@me", token: alice).status == 204, "the owner has every permission")
            #expect(try await c.request(.PUT, "\(otherBase)/\(thumbs)/@me", token: bob).status == 204)

            // Clearing one emoji, then all (MANAGE_MESSAGES).
            #expect(try await c.request(.DELETE, "\(base)/\(family)", token: bob).status == 403)
            let clear = try await c.request(.DELETE, "\(base)/\(family)", token: alice)
            #expect(clear.status == 204, "\(clear.text)")
            let cleared = try await watcher.waitDispatch("MESSAGE_REACTION_REMOVE_EMOJI")
            #expect(cleared["d"]?["emoji"]?["name"]?.stringValue == "👨‍👩‍👧" && cleared["d"]?["message_id"]?.stringValue == message.id.description)
            #expect(try await c.request(.DELETE, base, token: alice).status == 204)
            let all = try await watcher.waitDispatch("MESSAGE_REACTION_REMOVE_ALL")
            #expect(all["d"]?["message_id"]?.stringValue == message.id.description && all["d"]?["emoji"] == nil)
            let bare = try await c.request(.GET, "/channels/\(general)/messages/\(message.id)", token: bob)
            #expect(bare.json?["reactions"] == nil, "no reactions: the key is left out, as Discord does")

            // Deleting a message deletes its reactions (a later message can not inherit them).
            #expect(try await c.request(.DELETE, "/channels/\(general)/messages/\(other.id)", token: alice).status == 204)
            #expect(try await c.domain.db.decorations(channelID: general, messageIDs: [other.id], viewer: nil).reactions.isEmpty)
        }
    }

    @Test func directMessagesTakeReactionsUnderTheirOwnIntent() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let (bobID, bob) = try await c.register("bob")
            let dm = try await c.request(.POST, "/users/@me/channels", token: alice, json: #"{"recipient_id":"\#(bobID)"}"#).decode(DMChannel.self)
            let session = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            session.send(GatewayFrames.identify(bob, intents: GatewayFrames.defaultIntents | 1 << 12 | 1 << 13))
            _ = try await session.waitDispatch("READY")
            let message = try await c.request(.POST, "/channels/\(dm.id)/messages", token: alice, body: MessageCreateRequest(content: "hi")).decode(Message.self)
            #expect(try await c.request(.PUT, "/channels/\(dm.id)/messages/\(message.id)/reactions/\(Self.path("👋"))/@me", token: bob).status == 204)
            let added = try await session.waitDispatch("MESSAGE_REACTION_ADD")
            #expect(added["d"]?["guild_id"] == nil && added["d"]?["member"] == nil)
            let seen = try await c.request(.GET, "/channels/\(dm.id)/messages/\(message.id)", token: alice).decode(Message.self)
            #expect(seen.reactions?.map(\.count) == [1] && seen.reactions?.first?.me == false)
        }
    }

    /// An archived message takes reactions and a pin like a warm one, and its history page,
    /// read from the archive file, shows them.
    @Test func archivedMessagesTakeReactionsAndPins() async throws {
        try await TestCluster.with { c in
            let (aliceID, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Old times")).decode(Guild.self)
            let channel = try #require(guild.system_channel_id)
            let generator = SnowflakeGenerator(cell: 1, process: 14)
            let ids = (0..<6).map { generator.next(now: Date().addingTimeInterval(-60 * 86_400 + Double($0))) }
            try await c.domain.db.seedMessages(channelID: channel, workspaceID: guild.id, authorID: aliceID, ids: ids) { "old \($0)" }
            let mover = TierMover(db: c.domain.db, store: DirectoryArchiveStore(directory: c.config.cells[0].archiveDirectory),
                                  cellName: c.cellName, defaultDays: 30)
            #expect(try await mover.run().rows == ids.count)
            #expect(try await c.domain.db.message(channelID: channel, id: ids[2]) == nil, "the message is cold")

            #expect(try await c.request(.PUT, "/channels/\(channel)/messages/\(ids[2])/reactions/\(Self.path("🦕"))/@me", token: alice).status == 204)
            #expect(try await c.request(.PUT, "/channels/\(channel)/messages/pins/\(ids[2])", token: alice).status == 204)
            let page = try await c.request(.GET, "/channels/\(channel)/messages?before=\(ids[5])&limit=5", token: alice).decode([Message].self)
            let old = try #require(page.first { $0.id == ids[2] })
            #expect(old.pinned && old.reactions?.map(\.emoji.name) == ["🦕"] && old.reactions?.first?.me == true)
            #expect(try await c.request(.GET, "/channels/\(channel)/pins", token: alice).decode([Message].self).map(\.id) == [ids[2]])
        }
    }
}
