import ConcordModels
import PostgresNIO

/// Rows of one table, exported from one cell's database as a JSON array for another's.
public struct RowExport: Sendable {
    public var table: MovedTable
    public var json: String
    public var count: Int
}

/// The tables a workspace move copies, and the key a copied row replaces an older copy by.
public enum MovedTable: String, Sendable, CaseIterable {
    case users, workspaces, roles, channels, members, member_roles, bans, audit_log, invites, share_invites, read_states, mass_mentions, messages
    case message_reactions, message_pins, attachments

    var conflictKey: String {
        switch self {
        case .users, .workspaces, .roles, .channels, .audit_log, .attachments: "id"
        case .members: "workspace_id, user_id"
        case .member_roles: "workspace_id, user_id, role_id"
        case .bans: "workspace_id, user_id"
        case .invites, .share_invites: "code"
        case .read_states: "user_id, channel_id"
        case .mass_mentions, .message_pins: "channel_id, message_id"
        case .message_reactions: "channel_id, message_id, emoji, user_id"
        case .messages: "channel_id, bucket, id"
        }
    }

    /// Rows keyed by channel that the freeze copies whole: mass mentions, reactions, pins, attachments.
    /// (Attachment rows move; their blobs stay in the old cell's store: not built yet.)
    public static let copiedByChannel: [MovedTable] = [.mass_mentions, .message_reactions, .message_pins, .attachments]
}

/// Where a keyset walk through a workspace's messages has got to.
public struct MessageCursor: Sendable, Equatable {
    public var channel: Int64 = Int64.min
    public var bucket: Int32 = Int32.min
    public var id: Int64 = Int64.min
    public init() {}
}

/// What must hold before a workspace can move, counted in its home cell.
public struct MoveObstacles: Sendable {
    public var sharedChannels = 0
    public var replicaChannels = 0
    public var archivedBuckets = 0
    public var alreadyMoved = false
}

extension SQLExecutor {
    /// Lets the rest of this transaction write to a workspace that has moved away (or has not
    /// moved in yet): the mover's copies and the sequencer's numbering of rows committed before
    /// a freeze, never a client's write.
    public func markSystemWrite() async throws {
        try await run("SELECT set_config('concord.system_write', 'on', true)")
    }

    public func workspaceChannelIDs(_ workspace: Snowflake) async throws -> [Int64] {
        try await run("SELECT id FROM channels WHERE workspace_id = \(workspace.int64) ORDER BY id").map { try $0.decode(Int64.self) }
    }

    public func moveObstacles(_ workspace: Snowflake) async throws -> MoveObstacles {
        let row = try await run("""
            SELECT (SELECT count(*)::int FROM channel_shares s JOIN channels c ON c.id = s.channel_id WHERE c.workspace_id = \(workspace.int64)),
                   (SELECT count(*)::int FROM channels WHERE workspace_id = \(workspace.int64) AND home_cell IS NOT NULL),
                   (SELECT count(*)::int FROM archived_channels a JOIN channels c ON c.id = a.channel_id WHERE c.workspace_id = \(workspace.int64)),
                   EXISTS (SELECT 1 FROM moved_workspaces WHERE workspace_id = \(workspace.int64))
            """).first
        let (shared, replicas, archived, moved) = try row?.decode((Int, Int, Int, Bool).self) ?? (0, 0, 0, false)
        return MoveObstacles(sharedChannels: shared, replicaChannels: replicas, archivedBuckets: archived, alreadyMoved: moved)
    }

    /// The workspace's row and the rows that hang off it (channels, invites, members, and the
    /// share invites of its channels).
    public func exportWorkspaceRows(_ table: MovedTable, _ workspace: Snowflake) async throws -> RowExport {
        // An integer spliced into the text: nothing a client wrote.
        let id = workspace.int64
        let filter = switch table {
        case .workspaces: "id = \(id)"
        case .share_invites: "channel_id IN (SELECT id FROM channels WHERE workspace_id = \(id))"
        default: "workspace_id = \(id)"
        }
        let row = try await run("""
            SELECT COALESCE(json_agg(t), '[]')::text, count(*)::int FROM \(unescaped: table.rawValue) t WHERE \(unescaped: filter)
            """).first
        let (json, count) = try row?.decode((String, Int).self) ?? ("[]", 0)
        return RowExport(table: table, json: json, count: count)
    }

    /// Profiles of everyone the workspace's rows name (members, inviters, the owner, and the
    /// authors of `authorsOf` messages), as copies homed where they are homed: no password, no
    /// bot owner.
    public func exportProfiles(_ workspace: Snowflake, sourceCell: Int, authorsOf channels: [Int64], messageIDs: [Int64]? = nil) async throws -> RowExport {
        let row = try await run("""
            WITH named AS (
                SELECT user_id AS id FROM members WHERE workspace_id = \(workspace.int64)
                UNION SELECT inviter_id FROM invites WHERE workspace_id = \(workspace.int64)
                UNION SELECT owner_id FROM workspaces WHERE id = \(workspace.int64)
                UNION SELECT author_id FROM messages
                      WHERE channel_id = ANY(\(channels)) AND (\(messageIDs == nil) OR id = ANY(\(messageIDs ?? [])))
            ), copies AS (
                SELECT u.id, u.username, u.global_name, u.avatar, u.bot, NULL::bigint AS owner_id, NULL::text AS password_hash,
                       u.created_at, COALESCE(u.home_cell, \(sourceCell)) AS home_cell
                FROM users u JOIN named ON named.id = u.id
            )
            SELECT COALESCE(json_agg(copies), '[]')::text, count(*)::int FROM copies
            """).first
        let (json, count) = try row?.decode((String, Int).self) ?? ("[]", 0)
        return RowExport(table: .users, json: json, count: count)
    }

    /// Read states of the workspace's channels changed after `version`, oldest change first;
    /// answers the page and the newest version in it.
    public func exportReadStates(channels: [Int64], after version: Int64, limit: Int) async throws -> (RowExport, Int64) {
        let row = try await run("""
            WITH page AS (
                SELECT * FROM read_states WHERE channel_id = ANY(\(channels)) AND version > \(version) ORDER BY version LIMIT \(limit)
            )
            SELECT COALESCE(json_agg(page), '[]')::text, count(*)::int, COALESCE(max(version), \(version)) FROM page
            """).first
        let (json, count, newest) = try row?.decode((String, Int, Int64).self) ?? ("[]", 0, version)
        return (RowExport(table: .read_states, json: json, count: count), newest)
    }

    public func exportChannelRows(_ table: MovedTable, channels: [Int64]) async throws -> RowExport {
        let row = try await run("""
            SELECT COALESCE(json_agg(m), '[]')::text, count(*)::int FROM \(unescaped: table.rawValue) m WHERE channel_id = ANY(\(channels))
            """).first
        let (json, count) = try row?.decode((String, Int).self) ?? ("[]", 0)
        return RowExport(table: table, json: json, count: count)
    }

    /// The next page of the channels' messages after `cursor`, in key order; answers the page,
    /// the cursor after it, and the buckets it touches (the destination needs their partitions).
    public func exportMessages(channels: [Int64], after cursor: MessageCursor, limit: Int) async throws -> (RowExport, MessageCursor, [Int]) {
        let row = try await run("""
            WITH page AS (
                SELECT * FROM messages
                WHERE channel_id = ANY(\(channels)) AND (channel_id, bucket, id) > (\(cursor.channel), \(cursor.bucket), \(cursor.id))
                ORDER BY channel_id, bucket, id LIMIT \(limit)
            ), last AS (
                SELECT channel_id, bucket, id FROM page ORDER BY channel_id DESC, bucket DESC, id DESC LIMIT 1
            )
            SELECT COALESCE((SELECT json_agg(page) FROM page), '[]')::text, (SELECT count(*)::int FROM page),
                   (SELECT channel_id FROM last), (SELECT bucket FROM last), (SELECT id FROM last),
                   COALESCE((SELECT array_agg(DISTINCT bucket) FROM page), '{}')
            """).first
        guard let row else { return (RowExport(table: .messages, json: "[]", count: 0), cursor, []) }
        let (json, count, channel, bucket, id, buckets) = try row.decode((String, Int, Int64?, Int32?, Int64?, [Int32]).self)
        var next = cursor
        if let channel, let bucket, let id { next.channel = channel; next.bucket = bucket; next.id = id }
        return (RowExport(table: .messages, json: json, count: count), next, buckets.map(Int.init))
    }

    /// The rows of the given messages that still exist, their buckets, and their ids.
    public func exportMessages(channels: [Int64], ids: [Int64]) async throws -> (RowExport, [Int], Set<Int64>) {
        let row = try await run("""
            WITH page AS (SELECT * FROM messages WHERE channel_id = ANY(\(channels)) AND id = ANY(\(ids)))
            SELECT COALESCE(json_agg(page), '[]')::text, count(*)::int, COALESCE(array_agg(DISTINCT bucket), '{}'),
                   COALESCE(array_agg(id), '{}') FROM page
            """).first
        let (json, count, buckets, present) = try row?.decode((String, Int, [Int32], [Int64]).self) ?? ("[]", 0, [], [])
        return (RowExport(table: .messages, json: json, count: count), buckets.map(Int.init), Set(present))
    }

    /// The messages of the channels that outbox events in `(after, through]` (and, with
    /// `unsequenced`, committed events not numbered yet) created, changed or deleted.
    public func touchedMessages(channels: [Int64], after: Int64, through: Int64, unsequenced: Bool = false) async throws -> [Int64] {
        try await run("""
            SELECT DISTINCT x.id FROM outbox o CROSS JOIN LATERAL (
                SELECT (o.payload->>'id')::bigint AS id WHERE o.event_type IN ('MESSAGE_CREATE', 'MESSAGE_UPDATE', 'MESSAGE_DELETE')
                UNION ALL
                SELECT (o.payload->>'message_id')::bigint WHERE o.event_type LIKE 'MESSAGE_REACTION%'
                UNION ALL
                SELECT e::bigint FROM json_array_elements_text(
                    CASE WHEN json_typeof(o.payload->'ids') = 'array' THEN o.payload->'ids' ELSE '[]'::json END) e
                WHERE o.event_type = 'MESSAGE_DELETE_BULK'
            ) x
            WHERE ((o.seq > \(after) AND o.seq <= \(through)) OR (\(unsequenced) AND o.seq IS NULL))
              AND o.channel_id = ANY(\(channels)) AND x.id IS NOT NULL
            """).map { try $0.decode(Int64.self) }
    }

    /// Numbers the copied messages (of `ids`, the last pass's) the source's sequencer had not
    /// numbered yet (it will, in the source, after the switch), as the sequencer would: after each channel's last number, in id
    /// order, with their authors' read states following their own messages.
    public func numberUnsequencedMessages(channels: [Int64], among ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        try await run("""
            WITH pending AS (
                SELECT channel_id, bucket, id, author_id, row_number() OVER (PARTITION BY channel_id ORDER BY id) AS n
                FROM messages WHERE channel_id = ANY(\(channels)) AND id = ANY(\(ids)) AND channel_seq IS NULL
            ), bumped AS (
                UPDATE channels c SET message_seq = c.message_seq + t.added, last_message_id = GREATEST(c.last_message_id, t.last_id)
                FROM (SELECT channel_id, count(*) AS added, max(id) AS last_id FROM pending GROUP BY channel_id) t
                WHERE c.id = t.channel_id
                RETURNING c.id, c.message_seq - t.added AS base
            ), numbered AS (
                UPDATE messages m SET channel_seq = bumped.base + pending.n
                FROM pending JOIN bumped ON bumped.id = pending.channel_id
                WHERE m.channel_id = pending.channel_id AND m.bucket = pending.bucket AND m.id = pending.id
                RETURNING m.channel_id, m.id, m.author_id, m.channel_seq
            )
            UPDATE read_states rs SET last_seq = GREATEST(rs.last_seq, numbered.channel_seq), \(unescaped: ReadStateRow.newVersion)
            FROM numbered
            WHERE rs.user_id = numbered.author_id AND rs.channel_id = numbered.channel_id AND rs.last_message_id = numbered.id
            """)
    }

    /// Writes exported rows; a row already here (by the table's key) is replaced, except a
    /// profile, which is left as it is (a user homed here, or a copy as good as this one).
    /// Run in a transaction: the copy passes the moved-workspace triggers (014), which refuse
    /// clients' writes to the workspace here until the switch.
    public func importRows(_ rows: RowExport) async throws {
        guard rows.count > 0 else { return }
        try await markSystemWrite()
        let table = rows.table.rawValue
        let conflict: String
        if rows.table == .users {
            conflict = "DO NOTHING"
        } else {
            let columns = try await run("""
                SELECT string_agg(quote_ident(column_name::text), ', ' ORDER BY ordinal_position)
                FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = \(table)
                """).first?.decode(String.self) ?? ""
            let excluded = columns.split(separator: ",").map { "EXCLUDED." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
            conflict = "DO UPDATE SET (\(columns)) = ROW(\(excluded))"
        }
        try await run("""
            INSERT INTO \(unescaped: table) SELECT * FROM json_populate_recordset(NULL::\(unescaped: table), \(rows.json)::json)
            ON CONFLICT (\(unescaped: rows.table.conflictKey)) \(unescaped: conflict)
            """)
    }

    /// Deletes the given messages (ones the source no longer has).
    public func deleteMessages(channels: [Int64], ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        try await run("DELETE FROM messages WHERE channel_id = ANY(\(channels)) AND id = ANY(\(ids))")
    }

    /// Makes the copy's set of channels, members, invites and mass mentions exactly the
    /// source's, before those rows are written again: what the source deleted goes here too.
    public func dropRowsMissingFromSource(_ workspace: Snowflake, channels: [Int64]) async throws {
        try await run("DELETE FROM channels WHERE workspace_id = \(workspace.int64) AND id <> ALL(\(channels))")
        try await run("DELETE FROM members WHERE workspace_id = \(workspace.int64)")
        try await run("DELETE FROM roles WHERE workspace_id = \(workspace.int64)")
        try await run("DELETE FROM bans WHERE workspace_id = \(workspace.int64)")
        try await run("DELETE FROM invites WHERE workspace_id = \(workspace.int64)")
        try await run("DELETE FROM share_invites WHERE channel_id = ANY(\(channels))")
        for table in MovedTable.copiedByChannel {
            try await run("DELETE FROM \(unescaped: table.rawValue) WHERE channel_id = ANY(\(channels))")
        }
    }

    /// Entries naming where the workspace lives, rewritten to say `cell` (a move undone half-way).
    public func reassertHome(_ workspace: Snowflake, cell: Int, version: Int64) async throws {
        try await run("""
            UPDATE directory SET cell_id = \(cell), version = \(version) WHERE workspace_id = \(workspace.int64) AND cell_id <> \(cell)
            """)
    }

    /// Deletes a workspace and everything of it (the old copy after a move, or a copy abandoned).
    public func removeWorkspaceCopy(_ workspace: Snowflake) async throws {
        let channels = try await workspaceChannelIDs(workspace)
        try await run("DELETE FROM messages WHERE channel_id = ANY(\(channels))")
        try await run("DELETE FROM read_states WHERE channel_id = ANY(\(channels))")
        try await run("DELETE FROM mass_mentions WHERE channel_id = ANY(\(channels))")
        try await run("DELETE FROM workspaces WHERE id = \(workspace.int64)")
    }

    /// The blobs the channels' attachments name (the destination's blob store needs them).
    public func attachmentBlobs(channels: [Int64]) async throws -> [String] {
        try await run("SELECT DISTINCT sha256 FROM attachments WHERE channel_id = ANY(\(channels))").map { try $0.decode(String.self) }
    }

    /// A channel's message ids, in order (for comparing copies).
    public func messageIDs(channel: Snowflake) async throws -> [Snowflake] {
        try await run("SELECT id FROM messages WHERE channel_id = \(channel.int64) ORDER BY id").map { row in Snowflake(int64: try row.decode(Int64.self)) }
    }

    /// What a move compares between the two copies: each channel's message digest, and the
    /// numbers of channels, members and read states.
    public func workspaceFingerprint(_ workspace: Snowflake) async throws -> [String] {
        let channels = try await workspaceChannelIDs(workspace)
        var parts: [String] = []
        for channel in channels {
            let digest = try await channelDigest(Snowflake(int64: channel))
            parts.append("\(channel):\(digest.count):\(digest.md5)")
        }
        let counts = try await run("""
            SELECT (SELECT count(*)::int FROM members WHERE workspace_id = \(workspace.int64)),
                   (SELECT count(*)::int FROM read_states WHERE channel_id = ANY(\(channels))),
                   (SELECT count(*)::int FROM invites WHERE workspace_id = \(workspace.int64))
            """).first?.decode((Int, Int, Int).self) ?? (0, 0, 0)
        parts.append("members:\(counts.0) read_states:\(counts.1) invites:\(counts.2)")
        return parts
    }
}
