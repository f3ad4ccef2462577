import ConcordModels
import Foundation
import PostgresNIO

/// Which page of a channel's history to read; pages are always returned newest first.
public enum HistoryPage: Sendable, Equatable {
    case latest
    case before(Snowflake)
    case after(Snowflake)
    case around(Snowflake)
}

/// A warm message row that was there when read is gone when written: the tier mover archived
/// it meanwhile (or it was deleted). The caller reads the message again and writes where it is.
public struct MessageLeftWarmTier: Error {
    public init() {}
}

/// A message to insert, with its author and the event it queues.
public struct MessageWrite: Sendable {
    public var record: MessageRecord
    public var authorID: Snowflake
    public var event: PendingEvent
    /// When set, the message is written only if its workspace and author are still at these
    /// versions (the access it was allowed with was kept from an earlier read); otherwise the
    /// insert fails with `AccessVersions.changed`.
    public var checkedAt: AccessVersions?

    public init(record: MessageRecord, authorID: Snowflake, event: PendingEvent, checkedAt: AccessVersions? = nil) {
        self.record = record; self.authorID = authorID; self.event = event; self.checkedAt = checkedAt
    }
}

extension SQLExecutor {
    private static var messageSelect: String { "\(Columns.message) FROM messages msg \(Columns.messageAuthor)" }

    static func message(_ row: PostgresRow) throws -> MessageRecord {
        let r = row.makeRandomAccess()
        let author = try r.user(prefix: "u_")
        return MessageRecord(
            id: try r.snowflake("id"), channelID: try r.snowflake("channel_id"), workspaceID: try r.optionalSnowflake("workspace_id"),
            author: author, authorMember: try r.member(prefix: "m_", user: author),
            type: try r["type"].decode(Int.self), content: try r["content"].decode(String.self),
            tts: try r["tts"].decode(Bool.self), mentionEveryone: try r["mention_everyone"].decode(Bool.self),
            mentionIDs: try r["mention_ids"].decode([Int64].self).map(Snowflake.init(int64:)),
            embedsJSON: try r["embeds"].decode(String.self), componentsJSON: try r["components"].decode(String.self),
            nonceJSON: try r["nonce"].decode(String?.self), flags: try r["flags"].decode(Int.self), pinned: try r["pinned"].decode(Bool.self),
            referenceMessageID: try r.optionalSnowflake("reference_message_id"),
            referenceChannelID: try r.optionalSnowflake("reference_channel_id"),
            referenceGuildID: try r.optionalSnowflake("reference_guild_id"),
            editedAt: try r["edited_at"].decode(Date?.self), attachmentsJSON: try r["attachments"].decode(String.self))
    }

    /// Inserts a message and its outbox row in one statement (see `insertMessages`).
    public func insertMessage(_ m: MessageRecord, authorID: Snowflake, event: PendingEvent) async throws -> [ReadStateRow] {
        try await insertMessages([MessageWrite(record: m, authorID: authorID, event: event)])
    }

    /// Inserts messages and their outbox rows (in the order given) in one statement: one round
    /// trip, one commit however many there are. The only other writes are for the users they
    /// mention (their mention counts) and @everyone (once per channel); a user and channel
    /// several messages mention is written once, so one statement never changes a row twice.
    /// The author's own read state is the sequencer's to move (`sequenceOutbox`): written here,
    /// each send would wait on the row the sequencer's last pass still holds for that author.
    /// Answers the read-state rows it changed. Prepared: every send runs it.
    ///
    /// Columns go in as one array each; a nullable id as 0 and a nullable text as "" (no id is 0,
    /// no JSON text and no request id is empty), since postgres-nio's arrays hold no NULLs; each
    /// message's mentions as an array literal.
    public func insertMessages(_ writes: [MessageWrite]) async throws -> [ReadStateRow] {
        let (m, e) = (writes.map(\.record), writes.map(\.event))
        func id(_ snowflake: Snowflake?) -> Int64 { snowflake?.int64 ?? 0 }
        return try await run(prepared: """
            WITH input AS (
                SELECT * FROM unnest(\(m.map(\.channelID.int64)), \(m.map(\.id.bucket)), \(m.map(\.id.int64)), \(m.map { id($0.workspaceID) }),
                                     \(writes.map(\.authorID.int64)), \(m.map(\.type)), \(m.map(\.content)), \(m.map(\.tts)),
                                     \(m.map(\.mentionEveryone)), \(m.map { "{" + $0.mentionIDs.map(\.description).joined(separator: ",") + "}" }),
                                     \(m.map(\.embedsJSON)), \(m.map(\.componentsJSON)), \(m.map { $0.nonceJSON ?? "" }), \(m.map(\.flags)),
                                     \(m.map { id($0.referenceMessageID) }), \(m.map { id($0.referenceChannelID) }), \(m.map { id($0.referenceGuildID) }),
                                     \(m.map(\.attachmentsJSON)), \(e.map(\.type)), \(e.map { id($0.guildID) }), \(e.map { id($0.channelID) }),
                                     \(e.map { id($0.userID) }), \(e.map(\.payload)), \(e.map { $0.requestID ?? "" }),
                                     \(writes.map { $0.checkedAt != nil }), \(writes.map { $0.checkedAt?.workspace ?? 0 }),
                                     \(writes.map { $0.checkedAt?.user ?? 0 }))
                    WITH ORDINALITY AS i(channel_id, bucket, id, workspace_id, author_id, type, content, tts, mention_everyone, mention_ids,
                                         embeds, components, nonce, flags, reference_message_id, reference_channel_id, reference_guild_id,
                                         attachments, event_type, event_workspace_id, event_channel_id, event_user_id, payload, request_id,
                                         checked, workspace_version, author_version, ord)
            ), inserted AS (
                INSERT INTO messages (channel_id, bucket, id, workspace_id, author_id, type, content, tts, mention_everyone,
                                      mention_ids, embeds, components, nonce, flags, reference_message_id, reference_channel_id,
                                      reference_guild_id, attachments)
                SELECT channel_id, bucket, id, NULLIF(workspace_id, 0), author_id, type, content, tts, mention_everyone,
                       mention_ids::bigint[], embeds::jsonb, components::jsonb, NULLIF(nonce, ''), flags, NULLIF(reference_message_id, 0),
                       NULLIF(reference_channel_id, 0), NULLIF(reference_guild_id, 0), attachments::jsonb
                FROM input
                WHERE CASE WHEN checked THEN access_unchanged(workspace_id, workspace_version, author_id, author_version) ELSE true END
                ORDER BY ord
            ), mentioned AS (
                SELECT mentioned.u AS user_id, i.channel_id, count(*)::int AS mentions
                FROM input i, LATERAL (SELECT DISTINCT u FROM unnest(i.mention_ids::bigint[]) AS u) AS mentioned
                WHERE mentioned.u <> i.author_id
                GROUP BY 1, 2
            ), states AS (
                INSERT INTO read_states (user_id, channel_id, mention_count)
                SELECT user_id, channel_id, mentions FROM mentioned ORDER BY user_id, channel_id
                ON CONFLICT (user_id, channel_id) DO UPDATE SET mention_count = read_states.mention_count + EXCLUDED.mention_count,
                    \(unescaped: ReadStateRow.newVersion)
                \(unescaped: ReadStateRow.returning)
            ), everyone AS (
                INSERT INTO mass_mentions (channel_id, message_id)
                SELECT channel_id, id FROM input WHERE mention_everyone
            ), queued AS (
                INSERT INTO outbox (event_type, workspace_id, channel_id, user_id, payload, request_id)
                SELECT event_type, NULLIF(event_workspace_id, 0), NULLIF(event_channel_id, 0), NULLIF(event_user_id, 0), payload::json,
                       NULLIF(request_id, '')
                FROM input ORDER BY ord
            )
            SELECT * FROM states
            """).map(ReadStateRow.row)
    }

    public func message(channelID: Snowflake, id: Snowflake) async throws -> MessageRecord? {
        try await run("""
            \(unescaped: Self.messageSelect)
            WHERE msg.channel_id = \(channelID.int64) AND msg.bucket = \(id.bucket) AND msg.id = \(id.int64)
            """).first.map(Self.message)
    }

    /// Messages of one channel by id (e.g. the originals of replies), in no particular order.
    public func messages(channelID: Snowflake, ids: [Snowflake]) async throws -> [MessageRecord] {
        guard !ids.isEmpty else { return [] }
        return try await run("""
            \(unescaped: Self.messageSelect)
            WHERE msg.channel_id = \(channelID.int64) AND msg.bucket = ANY(\(ids.map(\.bucket))) AND msg.id = ANY(\(ids.map(\.int64)))
            """).map(Self.message)
    }

    /// One page of a channel's history, newest first. Bucket bounds let PostgreSQL prune
    /// partitions; ordering by (bucket, id) follows the primary key across partitions.
    public func messages(channelID: Snowflake, page: HistoryPage, limit: Int) async throws -> [MessageRecord] {
        let channel = channelID.int64
        switch page {
        // Each page picks and orders its rows in a subquery, so the author joins touch only the
        // page's rows, whatever the planner knows (or does not yet know) about fresh partitions.
        case .latest:
            return try await run("""
                \(unescaped: Columns.message) FROM (SELECT * FROM messages WHERE channel_id = \(channel)
                    ORDER BY bucket DESC, id DESC LIMIT \(limit)) msg
                \(unescaped: Columns.messageAuthor) ORDER BY msg.bucket DESC, msg.id DESC
                """).map(Self.message)
        case .before(let id):
            return try await run("""
                \(unescaped: Columns.message) FROM (SELECT * FROM messages WHERE channel_id = \(channel) AND bucket <= \(id.bucket) AND id < \(id.int64)
                    ORDER BY bucket DESC, id DESC LIMIT \(limit)) msg
                \(unescaped: Columns.messageAuthor) ORDER BY msg.bucket DESC, msg.id DESC
                """).map(Self.message)
        case .after(let id):
            return try await run("""
                \(unescaped: Columns.message) FROM (SELECT * FROM messages WHERE channel_id = \(channel) AND bucket >= \(id.bucket) AND id > \(id.int64)
                    ORDER BY bucket ASC, id ASC LIMIT \(limit)) msg
                \(unescaped: Columns.messageAuthor) ORDER BY msg.bucket DESC, msg.id DESC
                """).map(Self.message)
        case .around(let id):
            // Discord's around: the message itself and up to limit/2 on each side.
            let newer = try await messages(channelID: channelID, page: .after(id), limit: limit / 2)
            let older = try await run("""
                \(unescaped: Columns.message) FROM (SELECT * FROM messages WHERE channel_id = \(channel) AND bucket <= \(id.bucket) AND id <= \(id.int64)
                    ORDER BY bucket DESC, id DESC LIMIT \(limit - newer.count)) msg
                \(unescaped: Columns.messageAuthor) ORDER BY msg.bucket DESC, msg.id DESC
                """).map(Self.message)
            return newer + older
        }
    }

    /// Updates a message. Mentions it gains or loses change the counts of the users it still is
    /// unread for (their last read message is older). Answers the read-state rows it changed.
    public func updateMessage(_ m: MessageRecord, event: PendingEvent) async throws -> [ReadStateRow] {
        let (channel, id, mentions) = (m.channelID.int64, m.id.int64, m.mentionIDs.map(\.int64))
        // Locked first: a row the tier mover took to its archive while this edit waited is
        // gone now, and the edit must be made to the cold copy instead (the caller reads again).
        guard !(try await run("SELECT 1 FROM messages WHERE channel_id = \(channel) AND bucket = \(m.id.bucket) AND id = \(id) FOR UPDATE")).isEmpty else {
            throw MessageLeftWarmTier()
        }
        let changed = try await run("""
            WITH old AS (
                SELECT mention_ids, mention_everyone, author_id FROM messages
                WHERE channel_id = \(channel) AND bucket = \(m.id.bucket) AND id = \(id) FOR UPDATE
            ), updated AS (
                UPDATE messages SET content = \(m.content), embeds = \(m.embedsJSON)::jsonb, components = \(m.componentsJSON)::jsonb,
                       flags = \(m.flags), mention_ids = \(mentions), mention_everyone = \(m.mentionEveryone), edited_at = \(m.editedAt),
                       attachments = \(m.attachmentsJSON)::jsonb
                WHERE channel_id = \(channel) AND bucket = \(m.id.bucket) AND id = \(id)
            ), locked AS (
                -- Every read state this edit changes, locked first and in key order, as a batch
                -- of sends locks them: in any other order the two could wait on each other.
                SELECT count(*) AS n FROM (
                    SELECT 1 FROM read_states rs, old
                    WHERE rs.channel_id = \(channel) AND (rs.user_id = ANY(old.mention_ids) OR rs.user_id = ANY(\(mentions)::bigint[]))
                    ORDER BY rs.user_id FOR UPDATE OF rs) AS rows
            ), gained AS (
                INSERT INTO read_states (user_id, channel_id, mention_count)
                SELECT u, \(channel), 1 FROM old, locked, unnest(\(mentions)::bigint[]) AS u
                WHERE NOT (u = ANY(old.mention_ids)) AND u <> old.author_id
                ORDER BY u
                ON CONFLICT (user_id, channel_id) DO UPDATE SET mention_count = read_states.mention_count + 1, \(unescaped: ReadStateRow.newVersion)
                WHERE read_states.last_message_id < \(id)
                \(unescaped: ReadStateRow.returning)
            ), lost AS (
                UPDATE read_states rs SET mention_count = GREATEST(rs.mention_count - 1, 0), \(unescaped: ReadStateRow.newVersion) FROM old, locked
                WHERE rs.channel_id = \(channel) AND rs.user_id = ANY(old.mention_ids) AND NOT (rs.user_id = ANY(\(mentions)::bigint[]))
                  AND rs.last_message_id < \(id)
                RETURNING rs.user_id, rs.channel_id, rs.last_message_id, rs.last_seq, rs.mention_count, rs.version
            ), everyone_gained AS (
                INSERT INTO mass_mentions (channel_id, message_id) SELECT \(channel), \(id) FROM old WHERE \(m.mentionEveryone)
                ON CONFLICT DO NOTHING
            ), everyone_lost AS (
                DELETE FROM mass_mentions WHERE NOT \(m.mentionEveryone) AND channel_id = \(channel) AND message_id = \(id)
            )
            SELECT * FROM gained UNION ALL SELECT * FROM lost
            """).map(ReadStateRow.row)
        try await insertEvent(event)
        return changed
    }

    /// Deletes a message; answers the read-state rows it changed, or nil when it did not exist.
    /// An unread mention it carried no longer counts.
    public func deleteMessage(channelID: Snowflake, id: Snowflake) async throws -> [ReadStateRow]? {
        let rows = try await run("""
            WITH gone AS (
                DELETE FROM messages WHERE channel_id = \(channelID.int64) AND bucket = \(id.bucket) AND id = \(id.int64)
                RETURNING id, mention_ids, author_id
            ), unmentioned AS (
                UPDATE read_states rs SET mention_count = GREATEST(rs.mention_count - 1, 0), \(unescaped: ReadStateRow.newVersion) FROM gone
                WHERE rs.channel_id = \(channelID.int64) AND rs.user_id = ANY(gone.mention_ids) AND rs.user_id <> gone.author_id
                  AND rs.last_message_id < gone.id
                RETURNING rs.user_id, rs.channel_id, rs.last_message_id, rs.last_seq, rs.mention_count, rs.version
            ), unmassed AS (
                DELETE FROM mass_mentions mm USING gone WHERE mm.channel_id = \(channelID.int64) AND mm.message_id = gone.id
            )
            -- One row per changed read state, or one row of nulls when none changed: no row at all means no message.
            SELECT u.* FROM gone LEFT JOIN unmentioned u ON true
            """)
        guard !rows.isEmpty else { return nil }
        return try rows.filter { try $0.makeRandomAccess()[0].decode(Int64?.self) != nil }.map(ReadStateRow.row)
    }
}

extension Database {
    /// Makes sure the partition for `bucket` exists (created once, then remembered).
    public func ensureMessagePartition(bucket: Int) async throws {
        if partitions.withLock({ $0.contains(bucket) }) { return }
        let name = "messages_b\(bucket)"
        do {
            try await run(PostgresQuery(unsafeSQL: "CREATE TABLE IF NOT EXISTS \(name) PARTITION OF messages FOR VALUES FROM (\(bucket)) TO (\(bucket + 1))"))
        } catch {
            // Two processes creating the same partition at once: fine if it now exists.
            let exists = try await run("SELECT to_regclass(\(name)) IS NOT NULL").first?.decode(Bool.self) ?? false
            if !exists { throw error }
        }
        partitions.withLock { _ = $0.insert(bucket) }
    }

    /// The buckets that have a partition, oldest first.
    public func messagePartitionBuckets() async throws -> [Int] {
        try await run("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = 'messages'
            """).compactMap { Int(try $0.decode(String.self).dropFirst("messages_b".count)) }.sorted()
    }
}
