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
            try await db.client.withConnection { lock in
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

/// Which writes finished, and whether they succeeded.
final class Outcomes: Sendable {
    private let map = Mutex<[String: Bool]>([:])
    func set(_ name: String, _ succeeded: Bool) { map.withLock { $0[name] = succeeded } }
    var all: [String: Bool] { map.withLock { $0 } }
}
