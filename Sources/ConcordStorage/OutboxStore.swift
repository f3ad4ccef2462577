import ConcordModels
import Foundation
import PostgresNIO

/// The outbox's state, for `concordctl cell status` and health checks.
public struct OutboxStatus: Sendable, Equatable {
    public var headSeq: Int64
    public var unsequenced: Int
    public var cursors: [String: Int64]
    /// When the oldest event not yet published to Redis was written.
    public var oldestUnpublishedAt: Date?
}

extension SQLExecutor {
    /// Prepared, as the many-event form is: most writes queue one event.
    public func insertEvent(_ e: PendingEvent) async throws {
        try await run(prepared: """
            INSERT INTO outbox (event_type, workspace_id, channel_id, user_id, payload, request_id)
            VALUES (\(e.type), \(e.guildID?.int64)::int8, \(e.channelID?.int64)::int8, \(e.userID?.int64)::int8, \(e.payload)::json,
                    \(e.requestID)::text)
            """)
    }

    /// Several events in one statement, in their order (the outbox numbers rows by id).
    public func insertEvents(_ events: [PendingEvent]) async throws {
        guard events.count > 1 else {
            if let event = events.first { try await insertEvent(event) }
            return
        }
        try await run(prepared: "\(insertingEvents: events)")
    }

    /// Events with `after < seq ≤ upTo`, in sequence order.
    public func events(after: Int64, upTo: Int64 = .max, limit: Int) async throws -> [OutboxEvent] {
        try await run(prepared: """
            SELECT \(unescaped: Self.eventColumns) FROM outbox
            WHERE seq > \(after) AND seq <= \(upTo) ORDER BY seq LIMIT \(limit)
            """).map(Self.outboxEvent)
    }

    /// What `outboxEvent` reads, in its order.
    private static var eventColumns: String { "seq, event_type, workspace_id, channel_id, user_id, payload::text AS payload, request_id" }

    private static func outboxEvent(_ row: PostgresRow) throws -> OutboxEvent {
        let (seq, type, ws, ch, user, payload, request) = try row.decode((Int64, String, Int64?, Int64?, Int64?, String, String?).self)
        return event(seq: seq, type: type, ws, ch, user, payload: payload, requestID: request)
    }

    /// An event of a relay's look: its row after the head (a look that found nothing answers one
    /// row of the head alone: nil).
    private static func numberedEvent(_ row: PostgresRow) throws -> OutboxEvent? {
        let (_, seq, type, ws, ch, user, payload, request) =
            try row.decode((Int64, Int64?, String?, Int64?, Int64?, Int64?, String?, String?).self)
        guard let seq, let type, let payload else { return nil }
        return event(seq: seq, type: type, ws, ch, user, payload: payload, requestID: request)
    }

    private static func event(seq: Int64, type: String, _ ws: Int64?, _ ch: Int64?, _ user: Int64?, payload: String, requestID: String?) -> OutboxEvent {
        OutboxEvent(seq: seq, event: PendingEvent(type: type, guildID: ws.map(Snowflake.init(int64:)), channelID: ch.map(Snowflake.init(int64:)),
                                                 userID: user.map(Snowflake.init(int64:)), payload: payload, requestID: requestID))
    }

    /// What a relay into `destination` may have of the events after `after`: those of channels
    /// shared into workspaces homed there and of DMs with a person homed there, nothing else (a
    /// workspace's data leaves its cell only where it is shared). Looks at most `window` rows
    /// past `after`; answers the events and how far it looked (the relay's cursor moves there
    /// even when nothing was for it).
    public func events(after: Int64, for destination: Int, limit: Int, window: Int64 = 5000) async throws
        -> (events: [OutboxEvent], through: Int64, head: Int64) {
        // Saturating: `after` is a caller's number and may be the largest bigint.
        let (sum, overflow) = after.addingReportingOverflow(window)
        let windowEnd = overflow ? Int64.max : sum
        // The head and the rows in one round trip: a relay's held read looks each time this cell
        // numbers something for it, and every look is on the way of a relayed event.
        let rows = try await run(prepared: """
            WITH h AS (SELECT seq FROM outbox_head)
            SELECT h.seq, e.* FROM h LEFT JOIN LATERAL (
                SELECT \(unescaped: Self.eventColumns) FROM outbox
                WHERE seq > \(after) AND seq <= LEAST(h.seq, \(windowEnd)) AND \(unescaped: Self.relayedInto(destination))
                ORDER BY seq LIMIT \(limit)
            ) e ON true ORDER BY e.seq
            """)
        let head = try rows.first?.decode(Int64.self) ?? 0
        let end = min(head, windowEnd)
        guard end > after else { return ([], after, head) }
        let events = try rows.compactMap(Self.numberedEvent)
        return (events, events.count == limit ? events.last?.seq ?? end : end, head)
    }

    /// What of the outbox after `after` a relay into `destination` has yet to carry (as
    /// `events(after:for:)` would give it): how many events, and when the oldest was written.
    public func relayBacklog(after: Int64, for destination: Int) async throws -> (rows: Int64, oldest: Date?) {
        guard let row = try await run("""
            SELECT count(*), min(created_at) FROM outbox WHERE seq > \(after) AND \(unescaped: Self.relayedInto(destination))
            """).first else { return (0, nil) }
        return try row.decode((Int64, Date?).self)
    }

    /// The outbox rows a relay into cell `destination` may have: channels shared into its
    /// workspaces, DMs with a person homed there (the cell of a user id, as `Snowflake.cell`).
    /// The cell is a number, written into the statement's text.
    private static func relayedInto(_ destination: Int) -> String {
        """
        (channel_id IN (SELECT channel_id FROM channel_shares WHERE cell_id = \(destination))
         OR channel_id IN (SELECT channel_id FROM dm_channels
                           WHERE ((user_low >> 16) & 63) = \(destination) OR ((user_high >> 16) & 63) = \(destination)))
        """
    }

    /// The newest committed outbox row still waiting for its sequence number, if any.
    public func newestUnsequencedOutboxID() async throws -> Int64? {
        try await run("SELECT max(id) FROM outbox WHERE seq IS NULL").first?.decode(Int64?.self) ?? nil
    }

    /// Whether any outbox row up to `id` is still waiting for its sequence number.
    public func hasUnsequencedOutbox(through id: Int64) async throws -> Bool {
        try await run("SELECT EXISTS (SELECT 1 FROM outbox WHERE seq IS NULL AND id <= \(id))").first?.decode(Bool.self) ?? false
    }

    public func outboxHead() async throws -> Int64 {
        try await run(prepared: "SELECT seq FROM outbox_head").first?.decode(Int64.self) ?? 0
    }

    public func cursor(_ consumer: String) async throws -> Int64 {
        try await run("SELECT seq FROM outbox_cursors WHERE consumer = \(consumer)").first?.decode(Int64.self) ?? 0
    }

    /// Lets the rest of this transaction commit without waiting for the WAL to reach the disk
    /// (a select expression, for a statement's own transaction or a longer one).
    static var commitWithoutWaitingForDisk: String { "set_config('synchronous_commit', 'off', true)" }

    /// Moves a consumer's cursor forward (never back), committing without waiting for the disk:
    /// for a cursor that only holds rows back from pruning (or, the publisher's, says what to
    /// publish again after a restart: edges drop what they have by seq), a crash losing its last
    /// moves keeps rows a little longer, never fewer, and the reader asking for a page does not
    /// wait on a flush. Answers the head and whether committed rows await their numbers (the
    /// publisher's next question to the sequencer, answered by the same statement).
    @discardableResult
    public func advanceCursor(_ consumer: String, to seq: Int64) async throws -> (head: Int64, unsequenced: Bool) {
        let moved = try await moveCursor(consumer, to: seq, unlessPruned: false)
        return (moved.head, moved.unsequenced)
    }

    /// A durable follower (a relay) reading on after `after`: answers whether rows right after it
    /// are gone (pruned: it can never catch up from there); its cursor moves to `after` (as
    /// `advanceCursor`) only when nothing is gone, so a refused follower holds nothing back.
    public func followOutbox(_ consumer: String, after: Int64) async throws -> Bool {
        try await moveCursor(consumer, to: after, unlessPruned: true).pruned
    }

    private func moveCursor(_ consumer: String, to seq: Int64, unlessPruned: Bool) async throws
        -> (pruned: Bool, head: Int64, unsequenced: Bool) {
        // One statement, so one snapshot for the oldest row and the head: read apart, a
        // sequencing pass committing between the two reads showed an empty outbox with a head
        // past 0 — rows "pruned" that never were. Sequences are contiguous, so the oldest row
        // left being past `seq + 1` (written `oldest - 1 > seq`: `seq` may be the largest
        // bigint), or none left below the head, is a gap.
        guard let row = try await run(prepared: """
            WITH span AS (
                SELECT CASE WHEN oldest IS NOT NULL THEN oldest - 1 > \(seq) ELSE head > \(seq) END AS pruned, head
                FROM (SELECT (SELECT min(seq) FROM outbox WHERE seq IS NOT NULL) AS oldest,
                             coalesce((SELECT seq FROM outbox_head), 0) AS head) o
            ), commit_mode AS (
                SELECT \(unescaped: Self.commitWithoutWaitingForDisk)
            ), moved AS (
                INSERT INTO outbox_cursors (consumer, seq) SELECT \(consumer), \(seq) FROM commit_mode, span
                WHERE NOT (span.pruned AND \(unlessPruned))
                ON CONFLICT (consumer) DO UPDATE SET seq = GREATEST(outbox_cursors.seq, EXCLUDED.seq), updated_at = now()
            )
            SELECT pruned, head, EXISTS (SELECT 1 FROM outbox WHERE seq IS NULL) FROM span
            """).first else { return (false, 0, false) }
        return try row.decode((Bool, Int64, Bool).self)
    }

    /// Stops keeping rows for a follower that is gone for good (an operator's decision).
    public func forgetOutboxFollower(_ consumer: String) async throws {
        try await run("DELETE FROM outbox_cursors WHERE consumer = \(consumer)")
    }

    /// Deletes events every consumer has processed and that are older than `retentionHours`.
    /// Consumers are the publisher and every follower that reads the outbox by sequence (each
    /// relay of another cell): a follower down for longer than the retention keeps its rows.
    public func pruneOutbox(retentionHours: Double) async throws -> Int {
        try await run("""
            DELETE FROM outbox WHERE seq <= (SELECT coalesce(min(seq), 0) FROM outbox_cursors)
              AND created_at < now() - make_interval(secs => \(retentionHours * 3600))
            RETURNING seq
            """).count
    }

    public func outboxStatus(publisher: String) async throws -> OutboxStatus {
        let head = try await outboxHead()
        let unsequenced = try await run("SELECT count(*) FROM outbox WHERE seq IS NULL").first?.decode(Int.self) ?? 0
        var cursors: [String: Int64] = [:]
        for row in try await run("SELECT consumer, seq FROM outbox_cursors") {
            let (name, seq) = try row.decode((String, Int64).self)
            cursors[name] = seq
        }
        let published = cursors[publisher] ?? 0
        let oldest = try await run("""
            SELECT min(created_at) FROM outbox WHERE seq > \(published) OR seq IS NULL
            """).first?.decode(Date?.self)
        return OutboxStatus(headSeq: head, unsequenced: unsequenced, cursors: cursors, oldestUnpublishedAt: oldest)
    }
}

/// What one sequencing pass did: the new outbox head, how many rows it numbered, and the derived
/// state it changed (channels' message sequences, senders' read states) for the unread counters.
public struct SequencedOutbox: Sendable {
    public var head: Int64
    public var channelSeqs: [(channel: Snowflake, seq: Int64)] = []
    public var readStates: [ReadStateRow] = []
    /// The rows the pass numbered, in sequence order (the publisher's next page, not read again).
    public var events: [OutboxEvent] = []
    public var assigned: Int { events.count }
}

extension Database {
    /// Gives the next committed, unsequenced outbox rows their sequence numbers, in the order
    /// they became visible, and keeps derived channel state (last_message_id) current.
    /// Only one sequencer runs per cell at a time (an advisory lock).
    public func sequenceOutbox(batch: Int = 1000) async throws -> SequencedOutbox {
        // The whole pass is one call of a function (migration 027): as separate statements it was
        // six round trips per pass, and at moderate rates each pass numbers one or two events.
        // Every event waits on this pass; the lock is held for one round trip, not four.
        let rows = try await run(prepared: """
            SELECT * FROM sequence_outbox(\(Int32(clamping: batch)), \(Int64(Snowflake.bucketMilliseconds)))
            """)
        var pass = SequencedOutbox(head: 0)
        var old: Int64 = 0
        for row in rows {
            let r = row.makeRandomAccess()
            switch try r[0].decode(String.self) {
            case "h":
                old = try r[1].decode(Int64.self)
            case "e":
                pass.events.append(OutboxEvent(seq: try r[2].decode(Int64.self), event: PendingEvent(
                    type: try r[3].decode(String.self), guildID: try r[4].decode(Int64?.self).map(Snowflake.init(int64:)),
                    channelID: try r[5].decode(Int64?.self).map(Snowflake.init(int64:)),
                    userID: try r[6].decode(Int64?.self).map(Snowflake.init(int64:)),
                    payload: try r[7].decode(String.self), requestID: try r[8].decode(String?.self))))
            case "c":
                pass.channelSeqs.append((Snowflake(int64: try r[5].decode(Int64.self)), try r[10].decode(Int64.self)))
            case "r":
                pass.readStates.append(ReadStateRow(
                    userID: Snowflake(int64: try r[6].decode(Int64.self)), channelID: Snowflake(int64: try r[5].decode(Int64.self)),
                    lastMessageID: Snowflake(int64: try r[9].decode(Int64.self)), lastSeq: try r[10].decode(Int64.self),
                    mentionCount: Int(try r[11].decode(Int32.self)), version: try r[12].decode(Int64.self)))
            default:
                continue
            }
        }
        pass.head = old + Int64(pass.events.count)
        return pass
    }
}

extension PostgresQuery.StringInterpolation {
    /// The statement inserting `events` into the outbox, in their order (the outbox numbers rows
    /// by id), from arrays: one statement, whatever their number, for `insertEvents` and for a
    /// statement that does more beside it.
    mutating func appendInterpolation(insertingEvents events: [PendingEvent]) {
        // Arrays cannot hold NULL: absent ids travel as 0 (never an id), an absent request id as "".
        appendLiteral("""
            INSERT INTO outbox (event_type, workspace_id, channel_id, user_id, payload, request_id)
            SELECT t, NULLIF(g, 0), NULLIF(c, 0), NULLIF(u, 0), p::json, NULLIF(r, '') FROM unnest(
            """)
        appendInterpolation(events.map(\.type)); appendLiteral(", ")
        appendInterpolation(events.map { $0.guildID?.int64 ?? 0 }); appendLiteral(", ")
        appendInterpolation(events.map { $0.channelID?.int64 ?? 0 }); appendLiteral(", ")
        appendInterpolation(events.map { $0.userID?.int64 ?? 0 }); appendLiteral(", ")
        appendInterpolation(events.map(\.payload)); appendLiteral(", ")
        appendInterpolation(events.map { $0.requestID ?? "" })
        appendLiteral(") WITH ORDINALITY AS e(t, g, c, u, p, r, n) ORDER BY n")
    }
}
