import ConcordModels
import ConcordStorage

/// Sends that arrive while earlier ones are being written go to the database together: one
/// statement and one commit for the lot (group commit, on a `Batcher`). Under load a
/// statement's fixed cost and a commit's wait for the disk are paid once per batch instead of
/// once per message; a send that finds a lane free is written at once and alone.
final class GroupCommit: Sendable {
    typealias Write = @Sendable ([MessageWrite]) async throws -> [ReadStateRow]

    private let batches: Batcher<MessageWrite, [ReadStateRow]>

    /// Two lanes keep PostgreSQL busy while the cell answers the last batch.
    init(lanes: Int = 2, largestBatch: Int = 64, write: @escaping Write) {
        batches = Batcher(lanes: lanes, largestBatch: largestBatch) { await Self.written($0, by: write) }
    }

    /// Senders waiting for a lane (for tests).
    var waitingCount: Int { batches.waitingCount }

    /// Writes one message with its event. Answers the read-state rows its batch changed: all of
    /// them to the first sender of the batch, none to the others (each row once).
    func insert(_ message: MessageWrite) async throws -> [ReadStateRow] {
        try await batches.submit(message)
    }

    private static func written(_ messages: [MessageWrite], by write: Write) async -> [Result<[ReadStateRow], any Error>] {
        do {
            let rows = try await write(messages)
            return [.success(rows)] + Array(repeating: .success([]), count: messages.count - 1)
        } catch {
            guard messages.count > 1 else { return [.failure(error)] }
            // One message the database refuses (its workspace moved away, its channel is gone)
            // must not fail the rest: each is written alone and gets its own answer. Ids are
            // fixed before writing, so a batch that did commit unseen cannot be written twice.
            var outcomes: [Result<[ReadStateRow], any Error>] = []
            for message in messages {
                do { outcomes.append(.success(try await write([message]))) } catch { outcomes.append(.failure(error)) }
            }
            return outcomes
        }
    }
}
