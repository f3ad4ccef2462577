import ConcordModels
@testable import ConcordStorage
import Foundation
import PostgresNIO
import Synchronization
import Testing

/// A move's freeze holds back every write to the workspace, not only those that queue an outbox
/// event: invites and their use counts, read-state acks and share invites wait for it and are
/// refused (CC421, answered 421 so the edge retries at the new home) once the workspace has
/// moved. Without that, such a write landing between the last copy and the switch was lost
/// with the old copy.
@Suite("Move freeze")
struct MoveFreezeTests {
    @Test func writesWithoutOutboxRowsWaitForTheFreezeAndAreRefusedAfterIt() async throws {
        try await TestServers.withMigratedDatabase { db in
            let seed = try await StorageTests().seed(db)
            let (user, workspace, channel) = (seed.0, seed.1.id, seed.2)
            let ids = SnowflakeGenerator(cell: 3)
            let message = StorageTests().record(ids.next(), channel: channel, author: user, content: "read me")
            try await StorageTests().insert(db, message)
            let existing = InviteRecord(code: "before-move", workspaceID: workspace, channelID: channel.id, inviterID: user.id, maxAge: 0,
                                        maxUses: 0, uses: 0, temporary: false, createdAt: Date(), expiresAt: nil)
            #expect(try await db.insertInvite(existing))

            let finished = Outcomes()
            let writes: [(String, @Sendable () async throws -> Void)] = [
                ("ack", { _ = try await db.acknowledge(userID: user.id, channelID: channel.id, messageID: message.id) }),
                ("new invite", {
                    var invite = existing
                    invite.code = "during-move"
                    _ = try await db.insertInvite(invite)
                }),
                ("invite use", { _ = try await db.useInvite(code: existing.code) }),
                ("share invite", {
                    _ = try await db.insertShareInvite(code: "share-during-move", channelID: channel.id, inviterID: user.id,
                                                       expiresAt: Date().addingTimeInterval(60))
                }),
            ]
            try await db.withConnection { lock in
                try await lock.query("SELECT pg_advisory_lock(\(workspace.int64))", logger: db.logger).collect()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (name, write) in writes {
                        group.addTask {
                            do { try await write(); finished.set(name, true) } catch where error.sqlState == MovedWorkspace.refusedWrite {
                                finished.set(name, false)
                            }
                        }
                    }
                    try await Task.sleep(for: .milliseconds(500))
                    #expect(finished.all.isEmpty, "every write waits for the freeze: \(finished.all)")
                    // The switch: the workspace has moved away, then the lock goes.
                    try await db.markMovedAway(workspace, to: 2)
                    try await lock.query("SELECT pg_advisory_unlock(\(workspace.int64))", logger: db.logger).collect()
                    try await group.waitForAll()
                }
            }
            #expect(finished.all == ["ack": false, "new invite": false, "invite use": false, "share invite": false],
                    "each is refused after the switch, so it is retried where the workspace lives now")
            #expect(try await db.invite(code: existing.code)?.uses == 0)
            #expect(try await db.invite(code: "during-move") == nil)

            // The mover itself still writes there: its copies pass.
            let invites = try await db.exportWorkspaceRows(.invites, workspace)
            try await db.transaction { try await $0.importRows(invites) }
        }
    }
}

extension MoveFreezeTests {
    /// A transaction checks each workspace it writes to once (026): a workspace checked earlier
    /// in it never lets a write to another one pass, nor a channel of another.
    @Test func aWriteCheckedForOneWorkspaceDoesNotPassAnother() async throws {
        try await TestServers.withMigratedDatabase { db in
            let storage = StorageTests()
            let (alice, here, general) = try await storage.seed(db)
            let (bob, away, elsewhere) = try await storage.seed(db)
            let unread = storage.record(SnowflakeGenerator(cell: 3, process: 1).next(), channel: elsewhere, author: alice, content: "before")
            try await storage.insert(db, unread)
            try await db.markMovedAway(away.id, to: 2)
            func write(_ messages: [MessageRecord]) async -> String? {
                do {
                    try await db.ensureMessagePartition(bucket: messages[0].id.bucket)
                    _ = try await db.insertMessages(messages.map {
                        MessageWrite(record: $0, authorID: $0.author.id,
                                     event: PendingEvent(type: "MESSAGE_CREATE", guildID: $0.workspaceID, channelID: $0.channelID, payload: "{}"))
                    })
                    return nil
                } catch { return error.sqlState ?? "\(error)" }
            }
            let ids = SnowflakeGenerator(cell: 3)
            let staying = { storage.record(ids.next(), channel: general, author: alice, content: "here") }
            let leaving = { storage.record(ids.next(), channel: elsewhere, author: bob, content: "away") }
            #expect(await write([staying(), staying(), staying()]) == nil)
            #expect(await write([staying(), leaving()]) == MovedWorkspace.refusedWrite)
            #expect(await write([staying(), leaving(), staying()]) == MovedWorkspace.refusedWrite)
            // A read state names only its channel: checked through the channel's workspace.
            await #expect(throws: (any Error).self) {
                try await db.transaction { tx in
                    try await tx.insertEvent(PendingEvent(type: "TYPING_START", guildID: here.id, channelID: general.id, payload: "{}"))
                    _ = try await tx.acknowledge(userID: bob.id, channelID: elsewhere.id, messageID: unread.id)
                }
            }
            #expect(try await db.messages(channelID: general.id, page: .latest, limit: 10).count == 3, "only the first batch was written")
        }
    }
}

/// Which writes finished, and whether they succeeded.
final class Outcomes: Sendable {
    private let map = Mutex<[String: Bool]>([:])
    func set(_ name: String, _ succeeded: Bool) { map.withLock { $0[name] = succeeded } }
    var all: [String: Bool] { map.withLock { $0 } }
}
