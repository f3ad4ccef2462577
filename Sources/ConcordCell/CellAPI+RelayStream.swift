import ConcordModels
import Foundation
import Hummingbird

extension CellAPI {
    /// Outbox events as a read of the outbox answers them: a JSON array of numbered events.
    static func outboxPage(_ events: [OutboxEvent]) -> Data {
        Data(("[" + events.map { OutboxEvent.wireJSON(seq: $0.seq, event: $0.event, requestID: true) }.joined(separator: ",") + "]").utf8)
    }

    /// How often a read held open looks at the outbox without being woken.
    static let unwokenLookInterval: Duration = .milliseconds(500)

    /// A relay's read held open until `deadline`: `first` (the page read when it came, written
    /// at once even when empty, so the relay learns the head), then each page as soon as this
    /// cell numbers events for `destination`. The generation is noted before each look, so a
    /// batch numbered between a look and the wait after it is not slept through; a look short of
    /// the head (a full page, or the window's end) is followed by the next at once. A relay that
    /// stops reading holds the writer at its page until the connection goes.
    func relayPageStream(first: (events: [OutboxEvent], through: Int64, head: Int64), noted: UInt64, for destination: Int, limit: Int,
                         until deadline: ContinuousClock.Instant) -> Response {
        let (db, held) = (domain.db, domain.relayWakes.heldReads)
        var headers = HTTPFields()
        headers[.contentType] = RelayPageStream.contentType
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await writer.write(ByteBuffer(data: RelayPageStream.frame(events: Self.outboxPage(first.events), through: first.through, head: first.head)))
            var (read, seen, atHead) = (first.through, noted, first.through >= first.head)
            while ContinuousClock.now < deadline, !Task.isCancelled {
                if atHead {
                    // Looked at again now and then unwoken: a channel shared by another process
                    // (concordctl) wakes nobody until this cell reads the share registry again.
                    await held.wait(for: destination, pastGeneration: seen, upTo: min(deadline - .now, Self.unwokenLookInterval))
                }
                seen = held.generation(of: destination)
                let (events, through, head) = try await db.events(after: read, for: destination, limit: limit)
                atHead = through >= head || through <= read
                guard through > read else { continue }
                try await writer.write(ByteBuffer(data: RelayPageStream.frame(events: Self.outboxPage(events), through: through, head: head)))
                read = through
            }
            try await writer.finish(nil)
        })
    }
}
