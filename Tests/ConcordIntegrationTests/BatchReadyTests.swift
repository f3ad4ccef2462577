@testable import ConcordCell
import ConcordModels
import Foundation
import Testing

/// Sessions identifying together get READY from one batch: each must get exactly what it would
/// have got alone, whoever else is in the batch.
@Suite("Batch READY")
struct BatchReadyTests {
    @Test func eachSessionOfABatchGetsWhatItWouldAlone() async throws {
        try await TestCluster.with { c in
            // Alice and Bob share a small workspace with a channel hidden from Bob; Alice, Bob and
            // Carol a larger one where Bob holds a role; Alice and Carol have a DM.
            let small = try await c.workspaceOfTwo("Small")
            let (alice, bob) = (small.owner, small.member)
            let (carolID, carol) = try await c.register("carol")
            let secret = try await c.request(.POST, "/guilds/\(small.guild.id)/channels", token: alice.token, json: #"{"name":"secret"}"#)
                .decode(GuildChannel.self)
            #expect(try await c.request(.PUT, "/channels/\(secret.id)/permissions/\(bob.id)", token: alice.token,
                                        json: #"{"type":1,"deny":"1024"}"#).status == 204)
            let big = try await c.request(.POST, "/guilds", token: alice.token, body: GuildCreateRequest(name: "Big")).decode(Guild.self)
            let invite = try await c.request(.POST, "/channels/\(try #require(big.system_channel_id))/invites", token: alice.token, json: "{}").decode(Invite.self)
            for token in [bob.token, carol] { #expect(try await c.request(.POST, "/invites/\(invite.code)", token: token).status == 200) }
            let staff = try await c.request(.POST, "/guilds/\(big.id)/roles", token: alice.token, json: #"{"name":"staff"}"#).decode(Role.self)
            #expect(try await c.request(.PUT, "/guilds/\(big.id)/members/\(bob.id)/roles/\(staff.id)", token: alice.token).status == 204)
            #expect(try await c.request(.POST, "/users/@me/channels", token: carol, json: #"{"recipient_id":"\#(alice.id)"}"#).status == 200)
            let hi = try await c.request(.POST, "/channels/\(small.general)/messages", token: alice.token, body: MessageCreateRequest(content: "hi"))
                .decode(Message.self)
            let bigGeneral = try #require(big.system_channel_id)
            _ = try await c.request(.POST, "/channels/\(bigGeneral)/messages", token: alice.token, body: MessageCreateRequest(content: "@everyone look"))
            _ = try await c.request(.POST, "/channels/\(bigGeneral)/messages", token: alice.token, body: MessageCreateRequest(content: "and this"))
            #expect(try await c.request(.POST, "/channels/\(small.general)/messages/\(hi.id)/ack", token: bob.token, json: #"{"token":null}"#).status == 200)
            try await c.domain.settleOutbox()
            // The batch finds no counter current in Redis: it rebuilds every user's at once.
            await c.domain.counters.renew()

            func caller(_ id: Snowflake) -> Caller { Caller(userID: id, tokenID: Snowflake(int64: 1), isBot: false) }
            let nobody = Snowflake(int64: alice.id.int64 + 7)
            let requests = [ReadyRequest(caller: caller(alice.id), guildsOnly: false), ReadyRequest(caller: caller(bob.id), guildsOnly: false),
                            ReadyRequest(caller: caller(nobody), guildsOnly: false), ReadyRequest(caller: caller(carolID), guildsOnly: false),
                            ReadyRequest(caller: caller(bob.id), guildsOnly: true)]
            // Threshold 2: the small workspace lists its members, the big one only the user's own.
            func withoutPosition(_ state: ReadyState?) -> ReadyState? { state.map { var s = $0; s.outboxSeq = 0; return s } }
            let batch = try await c.domain.readyStates(requests, largeThreshold: 2).map(withoutPosition)
            for (index, request) in requests.enumerated() {
                let alone = try await c.domain.readyStates([request], largeThreshold: 2).map(withoutPosition)
                #expect(alone == [batch[index]], "request \(index) alone")
            }

            #expect(batch.count == 5 && batch[2] == nil, "a user not stored here gets no READY")
            let bobs = try #require(batch[1])
            #expect(bobs.guilds.map(\.guild.id) == [small.guild.id, big.id])
            #expect(bobs.guilds[0].members.count == 2 && bobs.guilds[0].large == false)
            #expect(bobs.guilds[1].members.map(\.user?.id) == [bob.id] && bobs.guilds[1].large == true)
            #expect(bobs.guilds[1].members.first?.roles == [staff.id], "own member with the role held")
            let bobsGeneral = try #require(bobs.readStates.first { $0.id == small.general })
            #expect(bobsGeneral.unread_count == 0 && bobsGeneral.last_message_id == hi.id, "Bob read Alice's message")
            let carols = try #require(batch[3])
            for (name, state) in [("Bob", bobs), ("Carol", carols)] {
                let general = try #require(state.readStates.first { $0.id == bigGeneral })
                #expect(general.mention_count == 1 && general.unread_count == 2, "\(name): the @everyone and one more, unread")
            }
            #expect(!bobs.readStates.contains { $0.id == secret.id }, "no read state of a channel Bob cannot view")
            #expect(try #require(batch[0]).readStates.contains { $0.id == secret.id })
            #expect(try #require(batch[3]).privateChannels.map { $0.recipients.map(\.id) } == [[alice.id]])
            #expect(try #require(batch[0]).privateChannels.map { $0.recipients.map(\.id) } == [[carolID]])
            #expect(bobs.privateChannels.isEmpty && bobs.user.username == "bob")
            let bobsGuildsOnly = try #require(batch[4])
            #expect(bobsGuildsOnly.user.username.isEmpty && bobsGuildsOnly.guilds.map(\.guild.id) == [small.guild.id, big.id])
        }
    }

    /// A workspace's count in READY is kept between batches while its members stay: it follows
    /// every join and leave, and each batch after one counts again.
    @Test func theMemberCountFollowsJoinsAndLeaves() async throws {
        try await TestCluster.with { c in
            let pair = try await c.workspaceOfTwo("Counted")
            func count() async throws -> Int? {
                let state = try await c.domain.readyStates([ReadyRequest(caller: Caller(userID: pair.owner.id, tokenID: Snowflake(int64: 1), isBot: false),
                                                                         guildsOnly: false)]).first ?? nil
                return state?.guilds.first { $0.guild.id == pair.guild.id }?.member_count
            }
            #expect(try await count() == 2)
            #expect(try await count() == 2, "kept")
            let (_, carol) = try await c.register("carol")
            let invite = try await c.request(.POST, "/channels/\(pair.general)/invites", token: pair.owner.token, json: "{}").decode(Invite.self)
            #expect(try await c.request(.POST, "/invites/\(invite.code)", token: carol).status == 200)
            #expect(try await count() == 3, "a join")
            #expect(try await c.request(.DELETE, "/users/@me/guilds/\(pair.guild.id)", token: pair.member.token).status == 204)
            #expect(try await count() == 2, "a leave")
            #expect(try await c.request(.DELETE, "/users/@me/guilds/\(pair.guild.id)", token: carol).status == 204)
            #expect(try await count() == 1, "another")
        }
    }

    /// Presence reports of sessions identifying together are decided and told in one batch:
    /// each user's workspaces count them online, or not, as each report alone would.
    @Test func aBatchOfPresenceReportsCountsEachUserInTheirOwnWorkspaces() async throws {
        try await TestCluster.with { c in
            let first = try await c.workspaceOfTwo("First")
            let (alice, bob) = (first.owner, first.member)
            let (carolID, carol) = try await c.register("carol")
            let second = try await c.request(.POST, "/guilds", token: alice.token, body: GuildCreateRequest(name: "Second")).decode(Guild.self)
            let invite = try await c.request(.POST, "/channels/\(try #require(second.system_channel_id))/invites", token: alice.token, json: "{}")
                .decode(Invite.self)
            #expect(try await c.request(.POST, "/invites/\(invite.code)", token: carol).status == 200)

            let expiry = Int64(Date().timeIntervalSince1970 * 1000) + 60_000
            try await c.domain.reportPresences([PresenceReport(userID: alice.id, state: PresenceState(status: .online), expiresAt: expiry),
                                                PresenceReport(userID: bob.id, state: PresenceState(status: .invisible), expiresAt: expiry),
                                                PresenceReport(userID: carolID, state: PresenceState(status: .idle), expiresAt: expiry)])
            #expect(try await c.domain.onlineCount(first.guild.id) == 1, "Alice; Bob is invisible")
            #expect(try await c.domain.onlineCount(second.id) == 2, "Alice and Carol")
            let stored = try await c.domain.storedPresences(of: [alice.id, bob.id, carolID]).map { $0.state.map { PresenceState(stored: $0).status } }
            #expect(stored == [.online, .invisible, .idle])

            // Bob shows himself, Carol goes invisible: one batch again.
            try await c.domain.reportPresences([PresenceReport(userID: bob.id, state: PresenceState(status: .dnd), expiresAt: expiry),
                                                PresenceReport(userID: carolID, state: PresenceState(status: .invisible), expiresAt: expiry)])
            #expect(try await c.domain.onlineCount(first.guild.id) == 2)
            #expect(try await c.domain.onlineCount(second.id) == 1)

            // Everyone's time passes: the sweep takes them all offline in one batch.
            #expect(try await c.domain.sweepPresences(now: Date().addingTimeInterval(120)) == 3)
            #expect(try await c.domain.onlineCount(first.guild.id) == 0)
            #expect(try await c.domain.onlineCount(second.id) == 0)
        }
    }
}
