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
            editedAt: try r["edited_at"].decode(Date?.self))
    }

    /// Inserts a message and its outbox event in one statement (one round trip, one transaction).
    public func insertMessage(_ m: MessageRecord, authorID: Snowflake, event: PendingEvent) async throws {
        try await run("""
            WITH inserted AS (
                INSERT INTO messages (channel_id, bucket, id, workspace_id, author_id, type, content, tts, mention_everyone,
                                      mention_ids, embeds, components, nonce, flags, reference_message_id, reference_channel_id,
                                      reference_guild_id)
                VALUES (\(m.channelID.int64), \(m.id.bucket), \(m.id.int64), \(m.workspaceID?.int64), \(authorID.int64), \(m.type),
                        \(m.content), \(m.tts), \(m.mentionEveryone), \(m.mentionIDs.map(\.int64)), \(m.embedsJSON)::jsonb,
                        \(m.componentsJSON)::jsonb, \(m.nonceJSON), \(m.flags), \(m.referenceMessageID?.int64),
                        \(m.referenceChannelID?.int64), \(m.referenceGuildID?.int64))
                RETURNING id
            )
            INSERT INTO outbox (event_type, workspace_id, channel_id, user_id, payload)
            SELECT \(event.type), \(event.guildID?.int64), \(event.channelID?.int64), \(event.userID?.int64), \(event.payload)::json
            FROM inserted
            """)
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

    public func updateMessage(_ m: MessageRecord, event: PendingEvent) async throws {
        try await run("""
            UPDATE messages SET content = \(m.content), embeds = \(m.embedsJSON)::jsonb, components = \(m.componentsJSON)::jsonb,
                   flags = \(m.flags), mention_ids = \(m.mentionIDs.map(\.int64)), mention_everyone = \(m.mentionEveryone),
                   edited_at = \(m.editedAt)
            WHERE channel_id = \(m.channelID.int64) AND bucket = \(m.id.bucket) AND id = \(m.id.int64)
            """)
        try await insertEvent(event)
    }

    /// Deletes a message; returns whether it existed.
    public func deleteMessage(channelID: Snowflake, id: Snowflake) async throws -> Bool {
        !(try await run("""
            DELETE FROM messages WHERE channel_id = \(channelID.int64) AND bucket = \(id.bucket) AND id = \(id.int64) RETURNING id
            """)).isEmpty
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
