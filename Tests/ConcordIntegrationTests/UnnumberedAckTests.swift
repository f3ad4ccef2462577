import ConcordModels
@testable import ConcordStorage
import Foundation
import Testing

/// A message committed but not yet numbered by the sequencer has no channel sequence of its own:
/// an ack that takes only numbered messages gets nothing for it (the cell numbers the outbox and
/// asks again), rather than the read position of the message before it.
@Suite("Acks of unnumbered messages")
struct UnnumberedAckTests {
    @Test func anUnnumberedMessageIsReadUpToItselfOnceNumbered() async throws {
        try await TestServers.withMigratedDatabase { db in
            let storage = StorageTests()
            let (alice, _, channel) = try await storage.seed(db)
            let bob = User(id: storage.ids.next(), username: "b\(UInt32.random(in: 0...UInt32.max))", globalName: "B", bot: false)
            #expect(try await db.insertUser(bob, passwordHash: nil, ownerID: nil))
            _ = try await db.insertMember(workspaceID: channel.guild_id, userID: bob.id)
            let message = storage.record(storage.ids.next(), channel: channel, author: alice, content: "just sent")
            try await storage.insert(db, message)

            #expect(try await db.acknowledge(userID: bob.id, channelID: channel.id, messageID: message.id, unnumbered: false) == nil,
                    "not numbered yet: nothing stored")
            _ = try await db.sequenceOutbox()
            let (state, _) = try #require(try await db.acknowledge(userID: bob.id, channelID: channel.id, messageID: message.id, unnumbered: false))
            #expect(state.lastMessageID == message.id && state.unreadCount == 0, "read up to itself: \(state)")
        }
    }
}
