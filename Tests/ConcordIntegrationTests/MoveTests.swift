import ConcordModels
import ConcordStorage
import Foundation
import Synchronization
import Testing

/// `concordctl workspace move` while people keep writing: every acknowledged message is in the
/// new home exactly once, the old home's copy is gone, clients never see an error, and a gateway
/// session follows the workspace to its new cell without losing or repeating an event.
@Suite("Workspace moves")
struct MoveTests {
    @Test func aWorkspaceMovesUnderSteadyWritesWithNothingLostOrRepeated() async throws {
        try await TestCluster.with(cells: 2, edges: 2, interRegionDelay: 5) { c in
            let (_, alice) = try await c.register("alice", edge: 0)
            let (bobID, bob) = try await c.register("bob", edge: 1)
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Moving")).decode(Guild.self)
            let general = try #require(guild.system_channel_id)
            let side = try await c.request(.POST, "/guilds/\(guild.id)/channels", token: alice, json: #"{"name":"side"}"#).decode(GuildChannel.self)
            let invite = try await c.request(.POST, "/channels/\(general)/invites", token: alice, json: "{}").decode(Invite.self)
            #expect(try await c.request(.POST, "/invites/\(invite.code)", token: bob, edge: 1).status == 200)
            #expect(guild.id.cell == 1)

            // History before the move, some of it edited or deleted, and read states.
            var before: [Snowflake] = []
            for i in 0..<120 {
                let channel = i % 3 == 0 ? side.id : general
                before.append(try await c.request(.POST, "/channels/\(channel)/messages", token: i % 2 == 0 ? alice : bob,
                                                  body: MessageCreateRequest(content: "before \(i)"), edge: i % 2).decode(Message.self).id)
            }
            _ = try await c.request(.PATCH, "/channels/\(general)/messages/\(before[1])", token: bob, json: #"{"content":"edited before"}"#, edge: 1)
            #expect(try await c.request(.DELETE, "/channels/\(general)/messages/\(before[2])", token: alice).status == 204)
            #expect(try await c.request(.POST, "/channels/\(general)/messages/\(before[4])/ack", token: bob, json: "{}", edge: 1).status == 200)
            // A reaction, a pin (whose notice is the side channel's 41st message) and a file (its
            // 42nd) move along.
            let file = Data("bytes that move with their workspace".utf8)
            let upload = try await AttachmentTests.send(c, .POST, "/channels/\(side.id)/messages", token: alice, form: AttachmentTests.form(
                #"{"content":"a file"}"#, [AttachmentTests.File(field: "files[0]", name: "moving.txt", type: "text/plain", data: file)]))
            let uploaded = try upload.decode(Message.self)
            #expect(try await c.request(.PUT, "/channels/\(general)/messages/\(before[5])/reactions/%F0%9F%9A%9A/@me", token: bob, edge: 1).status == 204)
            #expect(try await c.request(.PUT, "/channels/\(side.id)/messages/pins/\(before[6])", token: alice).status == 204)

            // A role, held by Bob, moves with the workspace.
            let role = try await c.request(.POST, "/guilds/\(guild.id)/roles", token: alice, json: #"{"name":"Movers"}"#).decode(Role.self)
            #expect(try await c.request(.PUT, "/guilds/\(guild.id)/members/\(bobID)/roles/\(role.id)", token: alice).status == 204)
            // A share invite still pending when the workspace moves can be accepted after it.
            let pendingShare = try await c.request(.POST, "/channels/\(side.id)/share-invites", token: alice).decode(ShareInvite.self)
            let elsewhere = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Elsewhere")).decode(Guild.self)
            let sideHistory = before.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)

            let bobSession = GatewayTestClient(url: GatewayFrames.url(c.edgeURLs[1]))
            bobSession.send(GatewayFrames.identify(bob))
            _ = try await bobSession.waitDispatch("GUILD_CREATE") { $0["d"]?["id"]?.stringValue == guild.id.description }

            // Steady writes through both edges while the move runs; every answer is recorded.
            let load = WriteLoad()
            async let us: Void = load.run(c, "alice", token: alice, edge: 0, channel: general)
            async let eu: Void = load.run(c, "bob", token: bob, edge: 1, channel: general)
            // Writes that make no outbox row go on too: invites, and Bob's acks in the side channel.
            let quiet = QuietWrites()
            async let quietly: Void = quiet.run(c, alice: alice, bob: bob, general: general, side: side.id, history: sideHistory, until: load)
            try await Task.sleep(for: .milliseconds(300))
            let statisticsBefore = try await c.domains[1].db.lastAnalyzed([.members, .users, .channels])
            async let moving = c.concordctl(["workspace", "move", guild.id.description, "--to", c.config.cells[1].name, "--json"], timeout: .seconds(120))
            // A channel created while the move runs (most likely during its copy) comes along.
            let late = try await c.request(.POST, "/guilds/\(guild.id)/channels", token: alice, json: #"{"name":"late"}"#).decode(GuildChannel.self)
            for i in 0..<5 {
                #expect(try await c.request(.POST, "/channels/\(late.id)/messages", token: alice, body: MessageCreateRequest(content: "late \(i)")).status == 200)
            }
            let move = try await moving
            // Writes go on for a while at the new home.
            try await Task.sleep(for: .milliseconds(500))
            load.stopped.store(true, ordering: .relaxed)
            _ = await (us, eu, quietly)

            #expect(move.status == 0, "\(move.log)")
            // JSON lines: the phases as they went, then the summary.
            let lines = move.log.split(separator: "\n").compactMap { try? WireJSON.decode(JSONValue.self, from: Data($0.utf8)) }
            #expect(lines.dropLast().contains { $0["phase"] != nil }, "phases reported as they went")
            let summary = try #require(lines.last)
            #expect(summary["old_copy_removed"]?.boolValue == true)
            #expect((summary["freeze_ms"]?.doubleValue ?? .infinity) < 10_000, "a freeze of milliseconds to seconds")
            // The source cell's move log, which its metrics read: one move, done, with its freeze.
            let logged = try await c.domains[0].db.operationsSummary()
            #expect(logged.movesByPhase == ["done": 1], "\(logged.movesByPhase)")
            #expect(abs((logged.lastMoveFreezeMilliseconds ?? -9) - (summary["freeze_ms"]?.doubleValue ?? 9)) < 1)
            #expect((logged.lastMoveTotalMilliseconds ?? 0) >= (logged.lastMoveFreezeMilliseconds ?? .infinity))
            #expect(load.failures.withLock { $0 }.isEmpty, "clients saw no error: \(load.failures.withLock { $0.prefix(3) })")

            // Every acknowledged message is in the new home once; the old home holds none.
            let written = load.acknowledged.withLock { $0 }
            #expect(written.count > 20, "the writers kept writing (\(written.count))")
            #expect(written.contains { $0.id.cell == 1 } && written.contains { $0.id.cell == 2 }, "writes landed on both sides of the move")
            let (newHome, oldHome) = (c.domains[1].db, c.domains[0].db)
            // The new home gathered statistics for what it took in bulk, not waiting for autovacuum.
            let statistics = try await newHome.lastAnalyzed([.members, .users, .channels])
            for table in [MovedTable.members, .users, .channels] {
                #expect(statistics[table].map { at in statisticsBefore[table].map { at > $0 } ?? true } == true, "\(table) analyzed by the move")
            }
            let stored = try await newHome.messageIDs(channel: general)
            #expect(stored.count == Set(stored).count, "no message is stored twice")
            let expected = Set(written.map(\.id)).union(before.enumerated().filter { $0.offset % 3 != 0 && $0.offset != 2 }.map(\.element))
            #expect(Set(stored) == expected, "missing: \(expected.subtracting(stored).count), unexpected: \(Set(stored).subtracting(expected).count)")
            #expect(try await newHome.messageIDs(channel: side.id).count == 42)
            #expect(try await newHome.messageIDs(channel: late.id).count == 5, "the channel created during the move, with its messages")
            let (oldMessages, oldWorkspace) = (try await oldHome.messageIDs(channel: general), try await oldHome.workspace(id: guild.id))
            #expect(oldMessages.isEmpty && oldWorkspace == nil, "the old copy is removed")

            // Clients keep working through both edges, edits included.
            for (token, edge) in [(alice, 0), (bob, 1)] {
                let page = try await c.request(.GET, "/channels/\(general)/messages?limit=100", token: token, edge: edge).decode([Message].self)
                #expect(page.first?.id == written.map(\.id).max())
                let guilds = try await c.request(.GET, "/users/@me/guilds", token: token, edge: edge).decode([PartialGuild].self)
                #expect(guilds.filter { $0.id == guild.id }.count == 1, "listed once")
            }
            let edited = try await c.request(.GET, "/channels/\(general)/messages/\(before[1])", token: alice).decode(Message.self)
            #expect(edited.content == "edited before")
            let reacted = try await c.request(.GET, "/channels/\(general)/messages/\(before[5])", token: bob, edge: 1).decode(Message.self)
            #expect(reacted.reactions?.map(\.count) == [1] && reacted.reactions?.first?.me == true, "reactions moved")
            #expect(try await c.request(.GET, "/channels/\(side.id)/pins", token: bob, edge: 1).decode([Message].self).map(\.id) == [before[6]], "pins moved")
            let fetched = try await c.request(.GET, "/channels/\(side.id)/messages/\(uploaded.id)", token: bob, edge: 1).decode(Message.self)
            let moved = try await AttachmentTests.download(c, try #require(fetched.attachments.first?.url))
            #expect(moved.status == 200 && moved.body == file, "the file is served from the new home")
            let states = try await c.request(.GET, "/users/@me/read-states", token: bob, edge: 1).decode([ReadStateEntry].self)
            #expect(states.first { $0.id == general }?.last_message_id != nil, "Bob's read state moved with the workspace")
            #expect(try await c.request(.GET, "/invites/\(invite.code)", token: alice).status == 200, "invites still work")
            let (codes, acked) = (quiet.invites.withLock { $0 }, quiet.acked.withLock { $0 })
            #expect(codes.count > 3 && acked.count > 3, "invites and acks went on during the move (\(codes.count), \(acked.count))")
            for code in codes {
                #expect(try await c.request(.GET, "/invites/\(code)", token: bob, edge: 1).status == 200, "invite \(code) made during the move")
            }
            #expect(states.first { $0.id == side.id }?.last_message_id == acked.last, "Bob's last ack during the move holds")
            #expect(quiet.failures.withLock { $0 }.isEmpty, "\(quiet.failures.withLock { $0.prefix(3) })")
            let roles = try await c.request(.GET, "/guilds/\(guild.id)/roles", token: bob, edge: 1).decode([Role].self)
            #expect(roles.map(\.name) == ["@everyone", "Movers"], "roles move with their workspace")
            let log = try await c.request(.GET, "/guilds/\(guild.id)/audit-logs?action_type=30", token: alice, edge: 1).decode(AuditLogResponse.self)
            #expect(log.audit_log_entries.map(\.target_id) == [role.id], "and so does the audit log")
            #expect(try await c.request(.GET, "/guilds/\(guild.id)/members/\(bobID)", token: alice).decode(Member.self).roles == [role.id])
            let accepted = try await c.request(.POST, "/guilds/\(elsewhere.id)/share-invites/\(pendingShare.code)", token: alice)
            #expect(accepted.status == 200, "a share invite made before the move is accepted after it: \(accepted.text)")

            // Bob's session followed the workspace: each message written after his IDENTIFY, once.
            let wanted = Set(written.map(\.content))
            try await eventually("Bob's session got every message", timeout: .seconds(15)) {
                Set(bobSession.dispatches("MESSAGE_CREATE").compactMap { $0["d"]?["content"]?.stringValue }).isSuperset(of: wanted)
            }
            let seen = bobSession.dispatches("MESSAGE_CREATE").compactMap { $0["d"]?["content"]?.stringValue }.filter(wanted.contains)
            #expect(seen.count == wanted.count, "none twice")
            let last = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "after")).decode(Message.self)
            #expect(last.id.cell == 2, "written in the new home")
            _ = try await bobSession.waitDispatch("MESSAGE_CREATE") { $0["d"]?["content"]?.stringValue == "after" }
            bobSession.close()
        }
    }

    /// A workspace with a channel shared into another cell cannot move (the channel's replicas
    /// follow its home's outbox); the refusal says why and changes nothing.
    /// After a move, a channel of the old cell can be shared into the workspace where it lives
    /// now (by the operator, or by the owners' share invite): the share follows the directory,
    /// not the workspace id's cell.
    @Test func aMovedWorkspaceTakesSharesInItsNewHome() async throws {
        try await TestCluster.with(cells: 2, edges: 2) { c in
            let (_, alice) = try await c.register("alice")
            let home = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Home")).decode(Guild.self)
            let moving = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Moving")).decode(Guild.self)
            let move = try await c.concordctl(["workspace", "move", moving.id.description, "--to", c.config.cells[1].name])
            #expect(move.status == 0, "\(move.log)")
            let first = try await c.request(.POST, "/guilds/\(home.id)/channels", token: alice, json: #"{"name":"by-operator"}"#).decode(GuildChannel.self)
            let second = try await c.request(.POST, "/guilds/\(home.id)/channels", token: alice, json: #"{"name":"by-invite"}"#).decode(GuildChannel.self)
            let shared = try await c.concordctl(["channel", "share", first.id.description, "--into", moving.id.description])
            #expect(shared.status == 0, "\(shared.log)")
            let code = try await c.request(.POST, "/channels/\(second.id)/share-invites", token: alice).decode(ShareInvite.self).code
            let accepted = try await c.request(.POST, "/guilds/\(moving.id)/share-invites/\(code)", token: alice, edge: 1)
            #expect(accepted.status == 200, "\(accepted.text)")
            for channel in [first.id, second.id] {
                #expect(try await c.domains[1].db.replicaHome(channelID: channel) == 1, "the replica is in the workspace's new cell")
            }
            let listed = try await c.request(.GET, "/guilds/\(moving.id)/channels", token: alice).decode([GuildChannel].self)
            #expect(Set([first.id, second.id]).isSubset(of: Set(listed.map(\.id))))
        }
    }

    /// A copy that comes out different from its source (here: one message changed in the copy
    /// after the bulk copy, which no later change touches, so only the comparison before the
    /// freeze sees it) abandons the move: the source stays the home, whole, and the copy goes.
    @Test func aCopyThatDiffersFromItsSourceAbandonsTheMove() async throws {
        try await TestCluster.with(cells: 2, edges: 1) { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Tampered")).decode(Guild.self)
            let general = try #require(guild.system_channel_id)
            var sent: [Snowflake] = []
            for i in 0..<30 {
                sent.append(try await c.request(.POST, "/channels/\(general)/messages", token: alice,
                                                body: MessageCreateRequest(content: "kept \(i)")).decode(Message.self).id)
            }
            let (source, destination) = (c.domains[0].db, c.domains[1].db)
            let tampered = Outcomes()
            let target = sent[7].int64
            let move = WorkspaceMove(workspace: guild.id, from: .init(id: 1, db: source), to: .init(id: 2, db: destination), others: [],
                                     copyBlobs: { _ in
                // The first call follows the bulk copy of the messages.
                guard tampered.all.isEmpty else { return }
                tampered.set("message", true)
                try await destination.transaction { tx in
                    try await tx.markSystemWrite()
                    try await tx.run("UPDATE messages SET content = 'not what was sent' WHERE id = \(target)")
                }
            })
            await #expect(throws: MoveError.self) { _ = try await move.run(settle: .zero) }
            #expect(tampered.all == ["message": true])
            #expect(try await destination.workspace(id: guild.id) == nil, "the copy is gone")
            let page = try await c.request(.GET, "/channels/\(general)/messages?limit=50", token: alice).decode([Message].self)
            #expect(Set(page.map(\.id)) == Set(sent))
            #expect(page.first { $0.id == sent[7] }?.content == "kept 7")
            #expect(try await c.request(.POST, "/channels/\(general)/messages", token: alice,
                                        body: MessageCreateRequest(content: "still home")).decode(Message.self).id.cell == 1)
        }
    }

    @Test func aWorkspaceWithSharedChannelsIsRefused() async throws {
        try await TestCluster.with(cells: 2, edges: 2) { c in
            let (_, alice) = try await c.register("alice")
            let (_, bob) = try await c.register("bob", edge: 1)
            let home = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Home")).decode(Guild.self)
            let away = try await c.request(.POST, "/guilds", token: bob, body: GuildCreateRequest(name: "Away"), edge: 1).decode(Guild.self)
            let channel = try #require(home.system_channel_id)
            #expect(try await c.concordctl(["channel", "share", channel.description, "--into", away.id.description]).status == 0)
            let move = try await c.concordctl(["workspace", "move", home.id.description, "--to", c.config.cells[1].name])
            #expect(move.status != 0 && move.log.contains("shared channels"), "\(move.log)")
            #expect(try await c.domains[0].db.workspace(id: home.id) != nil)
            #expect(try await c.request(.POST, "/channels/\(channel)/messages", token: alice, body: MessageCreateRequest(content: "still here")).status == 200)
        }
    }
}

/// Posts into a channel through an edge until stopped, recording each acknowledged message and
/// each failure.
final class WriteLoad: Sendable {
    let stopped = Atomic<Bool>(false)
    let acknowledged = Mutex<[(id: Snowflake, content: String)]>([])
    let failures = Mutex<[String]>([])

    func run(_ c: TestCluster, _ name: String, token: String, edge: Int, channel: Snowflake) async {
        var n = 0
        while !stopped.load(ordering: .relaxed) {
            let content = "\(name) \(n)"
            n += 1
            do {
                let reply = try await c.request(.POST, "/channels/\(channel)/messages", token: token, body: MessageCreateRequest(content: content), edge: edge)
                if reply.status == 200, let message = try? reply.decode(Message.self) {
                    acknowledged.withLock { $0.append((message.id, content)) }
                } else {
                    failures.withLock { $0.append("\(reply.status) \(reply.text.prefix(200))") }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// Writes that queue no outbox event, made while a move runs: invites, and acks of a channel's
/// messages in order (so the last successful one is the read state to expect).
final class QuietWrites: Sendable {
    let invites = Mutex<[String]>([])
    let acked = Mutex<[Snowflake]>([])
    let failures = Mutex<[String]>([])

    func run(_ c: TestCluster, alice: String, bob: String, general: Snowflake, side: Snowflake, history: [Snowflake], until load: WriteLoad) async {
        var index = 0
        while !load.stopped.load(ordering: .relaxed) {
            do {
                let made = try await c.request(.POST, "/channels/\(general)/invites", token: alice, json: #"{"unique":true}"#)
                if made.status == 200, let invite = try? made.decode(Invite.self) { invites.withLock { $0.append(invite.code) } } else {
                    failures.withLock { $0.append("invite: \(made.status) \(made.text)") }
                }
                let message = history[index % history.count]
                let ack = try await c.request(.POST, "/channels/\(side)/messages/\(message)/ack", token: bob, json: "{}", edge: 1)
                if ack.status == 200 { acked.withLock { $0.append(message) } } else { failures.withLock { $0.append("ack: \(ack.status) \(ack.text)") } }
                index += 1
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
