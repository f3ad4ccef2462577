@testable import ConcordCell
import ConcordModels
import ConcordStorage
import Synchronization
import Testing

/// Group commit's bookkeeping, with a recording write in place of the database.
@Suite("Group commit")
struct GroupCommitTests {
    /// Records each batch written; the first write waits until the test opens it, so that
    /// senders pile up behind it.
    final class Writes: Sendable {
        let batches = Mutex<[[Int64]]>([])
        let gate = FirstCallGate()
        let refused: Set<Int64>

        init(refused: Set<Int64> = []) { self.refused = refused }

        func write(_ messages: [MessageWrite]) async throws -> [ReadStateRow] {
            let first = batches.withLock { batches in
                batches.append(messages.map(\.record.id.int64))
                return batches.count == 1
            }
            if first { await gate.hold() }
            struct Refused: Error {}
            if messages.contains(where: { refused.contains($0.record.id.int64) }) { throw Refused() }
            return messages.map {
                ReadStateRow(userID: $0.authorID, channelID: $0.record.channelID, lastMessageID: $0.record.id, lastSeq: 0, mentionCount: 0, version: 1)
            }
        }

        func open() async { await gate.open() }
    }

    static func message(_ id: Int64) -> MessageWrite {
        let author = User(id: Snowflake(int64: id), username: "u\(id)", globalName: nil, bot: false)
        let record = MessageRecord(id: Snowflake(int64: id), channelID: Snowflake(int64: 1), workspaceID: nil, author: author, authorMember: nil,
                                   type: 0, content: "m\(id)", tts: false, mentionEveryone: false, mentionIDs: [], embedsJSON: "[]",
                                   componentsJSON: "[]", nonceJSON: nil, flags: 0, pinned: false, referenceMessageID: nil,
                                   referenceChannelID: nil, referenceGuildID: nil, editedAt: nil)
        return MessageWrite(record: record, authorID: author.id, event: PendingEvent(type: "MESSAGE_CREATE", guildID: nil, channelID: nil, payload: "{}"))
    }

    static func outcome(_ send: () async throws -> [ReadStateRow]) async -> Result<[ReadStateRow], any Error> {
        do { return .success(try await send()) } catch { return .failure(error) }
    }

    /// Sends 1…`count` with one writing first and the rest waiting behind it; answers each
    /// sender's outcome by id.
    func send(_ count: Int64, through commit: GroupCommit, _ writes: Writes) async -> [Int64: Result<[ReadStateRow], any Error>] {
        await withTaskGroup(of: (Int64, Result<[ReadStateRow], any Error>).self) { group in
            group.addTask { (1, await Self.outcome { try await commit.insert(Self.message(1)) }) }
            while writes.batches.withLock({ $0.isEmpty }) { await Task.yield() }
            for id in 2...count {
                group.addTask { (id, await Self.outcome { try await commit.insert(Self.message(id)) }) }
            }
            while commit.waitingCount < count - 1 { await Task.yield() }
            await writes.open()
            var outcomes: [Int64: Result<[ReadStateRow], any Error>] = [:]
            for await (id, outcome) in group { outcomes[id] = outcome }
            return outcomes
        }
    }

    @Test func sendsThatArriveDuringAWriteGoTogetherAndEachRowIsAnsweredOnce() async throws {
        let writes = Writes()
        let commit = GroupCommit(lanes: 1) { try await writes.write($0) }
        let outcomes = await send(5, through: commit, writes)
        let batches = writes.batches.withLock { $0 }
        #expect(batches.count == 2 && batches[0] == [1] && Set(batches[1]) == [2, 3, 4, 5] && batches[1].count == 4)
        let rows = try outcomes.values.flatMap { try $0.get() }
        #expect(rows.map(\.lastMessageID.int64).sorted() == [1, 2, 3, 4, 5], "every row answered, to one sender each")
        #expect(try outcomes.values.filter { try !$0.get().isEmpty }.count == 2, "one sender per batch applies its rows")
    }

    @Test func aBatchIsNeverLargerThanItsLimit() async throws {
        let writes = Writes()
        let commit = GroupCommit(lanes: 1, largestBatch: 2) { try await writes.write($0) }
        let outcomes = await send(6, through: commit, writes)
        let batches = writes.batches.withLock { $0 }
        #expect(batches.map(\.count) == [1, 2, 2, 1])
        #expect(Set(batches.flatMap { $0 }) == Set(1...6))
        #expect(outcomes.values.allSatisfy { (try? $0.get()) != nil })
    }

    @Test func aRefusedMessageFailsAloneAndTheRestAreWritten() async throws {
        let writes = Writes(refused: [3])
        let commit = GroupCommit(lanes: 1) { try await writes.write($0) }
        let outcomes = await send(5, through: commit, writes)
        for id: Int64 in [1, 2, 4, 5] {
            #expect(try outcomes[id]?.get().map(\.lastMessageID.int64) == [id], "written alone after its batch was refused")
        }
        #expect(throws: (any Error).self) { try outcomes[3]?.get() }
        let batches = writes.batches.withLock { $0 }
        #expect(batches.count == 2 + 4, "the batch of four, then each of them alone")
    }
}
