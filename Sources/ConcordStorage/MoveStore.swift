import ConcordModels
import Foundation
import PostgresNIO
import Synchronization

/// Rows of one table, exported from one cell's database for another's in PostgreSQL's COPY
/// text format (a line a row, fields tab-separated, `\N` for NULL, backslash escapes), with the
/// columns they give in order: the destination loads them with COPY.
public struct RowExport: Sendable {
    public var table: MovedTable
    public var columns: [String]
    public var text: String
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

    /// The columns profile copies carry (`exportProfiles`); the rest of a user's row stays home.
    static let profileColumns = ["id", "username", "global_name", "avatar", "bot", "owner_id", "password_hash", "created_at", "home_cell"]

    /// Each table's columns, read from the catalog once per process: migrations run before
    /// anything moves, and every cell runs the same migrations.
    private static let knownColumns = Mutex<[MovedTable: [String]]>([:])

    func columns(in db: some SQLExecutor) async throws -> [String] {
        if let known = Self.knownColumns.withLock({ $0[self] }) { return known }
        let names = try await db.run(prepared: """
            SELECT attname::text FROM pg_attribute WHERE attrelid = \(rawValue)::text::regclass AND attnum > 0 AND NOT attisdropped
              AND attname <> 'access_version'
            ORDER BY attnum
            """).map { try $0.decode(String.self) }
        Self.knownColumns.withLock { $0[self] = names }
        return names
    }

    /// Column names as a statement's list of quoted identifiers.
    static func quoted(_ columns: [String]) -> String {
        columns.map { "\"\($0)\"" }.joined(separator: ", ")
    }

    /// An aggregate giving the COPY text of `columns` of the rows `alias` names, and one giving
    /// their count. Column names come from the catalog (or this file), never from a client.
    static func copyText(of alias: String, _ columns: [String]) -> String {
        let fields = columns.map { column in
            #"replace(replace(replace(replace(\#(alias)."\#(column)"::text, '\', '\\'), E'\n', '\n'), E'\r', '\r'), E'\t', '\t')"#
        }
        return #"COALESCE(string_agg(array_to_string(ARRAY[\#(fields.joined(separator: ", "))], E'\t', '\N') || E'\n', ''), '') AS copy_text, count(*)::int AS copy_count"#
    }
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
        try await run("SELECT \(unescaped: Self.systemWrite)")
    }

    /// The buckets (partitions) of the messages `ids` names: lookups by id name them too, as
    /// the key is (channel, bucket, id).
    static func buckets(of ids: [Int64]) -> [Int32] {
        Array(Set(ids.map { Int32(Snowflake(int64: $0).bucket) })).sorted()
    }

    static var systemWrite: String { "set_config('concord.system_write', 'on', true)" }

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
        let columns = try await table.columns(in: self)
        let rows = "SELECT \(MovedTable.copyText(of: "t", columns)) FROM \(table.rawValue) t"
        // Each a prepared statement: a move reads these again in every pass and in the freeze.
        let row = switch table {
        case .workspaces: try await run(prepared: "\(unescaped: rows) WHERE id = \(workspace.int64)").first
        case .share_invites:
            try await run(prepared: "\(unescaped: rows) WHERE channel_id IN (SELECT id FROM channels WHERE workspace_id = \(workspace.int64))").first
        default: try await run(prepared: "\(unescaped: rows) WHERE workspace_id = \(workspace.int64)").first
        }
        let (text, count) = try row?.decode((String, Int).self) ?? ("", 0)
        return RowExport(table: table, columns: columns, text: text, count: count)
    }

    /// Profiles of everyone the workspace's rows name (members, inviters, the owner, and the
    /// authors of `authorsOf` messages), as copies (see `profileCopies`).
    public func exportProfiles(_ workspace: Snowflake, sourceCell: Int, authorsOf channels: [Int64]) async throws -> RowExport {
        try await profiles(try await run(prepared: """
            WITH source AS (SELECT \(sourceCell)::int AS cell), named AS (
                SELECT user_id AS id FROM members WHERE workspace_id = \(workspace.int64)
                UNION SELECT inviter_id FROM invites WHERE workspace_id = \(workspace.int64)
                UNION SELECT owner_id FROM workspaces WHERE id = \(workspace.int64)
                UNION SELECT author_id FROM messages WHERE channel_id = ANY(\(channels))
            ), \(unescaped: Self.profileCopies)
            """))
    }

    /// Profiles of the authors of the given messages, as copies (see `profileCopies`).
    public func exportAuthors(sourceCell: Int, channels: [Int64], messageIDs ids: [Int64]) async throws -> RowExport {
        try await profiles(try await run(prepared: """
            WITH source AS (SELECT \(sourceCell)::int AS cell), named AS (
                SELECT DISTINCT author_id AS id FROM messages
                WHERE channel_id = ANY(\(channels)) AND bucket = ANY(\(Self.buckets(of: ids))) AND id = ANY(\(ids))
            ), \(unescaped: Self.profileCopies)
            """))
    }

    /// The copies of the users a query's `named` holds, homed where they are homed (or in the
    /// `source` cell): no password, no bot owner.
    private static var profileCopies: String {
        """
        copies AS (
            SELECT u.id, u.username, u.global_name, u.avatar, u.bot, NULL::bigint AS owner_id, NULL::text AS password_hash,
                   u.created_at, COALESCE(u.home_cell, (SELECT cell FROM source)) AS home_cell
            FROM users u JOIN named ON named.id = u.id
        )
        SELECT \(MovedTable.copyText(of: "copies", MovedTable.profileColumns)) FROM copies
        """
    }

    private func profiles(_ rows: [PostgresRow]) throws -> RowExport {
        let (text, count) = try rows.first?.decode((String, Int).self) ?? ("", 0)
        return RowExport(table: .users, columns: MovedTable.profileColumns, text: text, count: count)
    }

    /// Read states of the workspace's channels changed after `version`, oldest change first;
    /// answers the page and the newest version in it.
    public func exportReadStates(channels: [Int64], after version: Int64, limit: Int) async throws -> (RowExport, Int64) {
        let columns = try await MovedTable.read_states.columns(in: self)
        let row = try await run(prepared: """
            WITH page AS (
                SELECT * FROM read_states WHERE channel_id = ANY(\(channels)) AND version > \(version) ORDER BY version LIMIT \(limit)
            )
            SELECT \(unescaped: MovedTable.copyText(of: "page", columns)), COALESCE(max(version), \(version)) FROM page
            """).first
        let (text, count, newest) = try row?.decode((String, Int, Int64).self) ?? ("", 0, version)
        return (RowExport(table: .read_states, columns: columns, text: text, count: count), newest)
    }

    public func exportChannelRows(_ table: MovedTable, channels: [Int64]) async throws -> RowExport {
        let columns = try await table.columns(in: self)
        let row = try await run(prepared: """
            SELECT \(unescaped: MovedTable.copyText(of: "m", columns)) FROM \(unescaped: table.rawValue) m WHERE channel_id = ANY(\(channels))
            """).first
        let (text, count) = try row?.decode((String, Int).self) ?? ("", 0)
        return RowExport(table: table, columns: columns, text: text, count: count)
    }

    /// The next page of the channels' messages after `cursor`, in key order; answers the page,
    /// the cursor after it, and the buckets it touches (the destination needs their partitions).
    public func exportMessages(channels: [Int64], after cursor: MessageCursor, limit: Int) async throws -> (RowExport, MessageCursor, [Int]) {
        let columns = try await MovedTable.messages.columns(in: self)
        let row = try await run(prepared: """
            WITH page AS (
                SELECT * FROM messages
                WHERE channel_id = ANY(\(channels)) AND (channel_id, bucket, id) > (\(cursor.channel), \(cursor.bucket), \(cursor.id))
                ORDER BY channel_id, bucket, id LIMIT \(limit)
            ), last AS (
                SELECT channel_id, bucket, id FROM page ORDER BY channel_id DESC, bucket DESC, id DESC LIMIT 1
            )
            SELECT rows.copy_text, rows.copy_count,
                   (SELECT channel_id FROM last), (SELECT bucket FROM last), (SELECT id FROM last),
                   COALESCE((SELECT array_agg(DISTINCT bucket) FROM page), '{}')
            FROM (SELECT \(unescaped: MovedTable.copyText(of: "page", columns)) FROM page) rows
            """).first
        guard let row else { return (RowExport(table: .messages, columns: columns, text: "", count: 0), cursor, []) }
        let (text, count, channel, bucket, id, buckets) = try row.decode((String, Int, Int64?, Int32?, Int64?, [Int32]).self)
        var next = cursor
        if let channel, let bucket, let id { next.channel = channel; next.bucket = bucket; next.id = id }
        return (RowExport(table: .messages, columns: columns, text: text, count: count), next, buckets.map(Int.init))
    }

    /// The rows of the given messages that still exist, their buckets, and their ids.
    public func exportMessages(channels: [Int64], ids: [Int64]) async throws -> (RowExport, [Int], Set<Int64>) {
        let columns = try await MovedTable.messages.columns(in: self)
        let row = try await run(prepared: """
            WITH page AS (SELECT * FROM messages WHERE channel_id = ANY(\(channels)) AND bucket = ANY(\(Self.buckets(of: ids))) AND id = ANY(\(ids)))
            SELECT \(unescaped: MovedTable.copyText(of: "page", columns)), COALESCE(array_agg(DISTINCT bucket), '{}'),
                   COALESCE(array_agg(id), '{}') FROM page
            """).first
        let (text, count, buckets, present) = try row?.decode((String, Int, [Int32], [Int64]).self) ?? ("", 0, [], [])
        return (RowExport(table: .messages, columns: columns, text: text, count: count), buckets.map(Int.init), Set(present))
    }

    /// The messages of the channels that outbox events in `(after, through]` (and, with
    /// `unsequenced`, committed events not numbered yet) created, changed or deleted.
    public func touchedMessages(channels: [Int64], after: Int64, through: Int64, unsequenced: Bool = false) async throws -> [Int64] {
        // The unnumbered rows' condition is written out, not bound, so the planner can take
        // both the sequence's index and the unnumbered rows' (a bound flag hides that).
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
            WHERE ((o.seq > \(after) AND o.seq <= \(through)) \(unescaped: unsequenced ? "OR o.seq IS NULL" : ""))
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
                FROM messages WHERE channel_id = ANY(\(channels)) AND bucket = ANY(\(Self.buckets(of: ids))) AND id = ANY(\(ids)) AND channel_seq IS NULL
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

    /// Deletes the given messages (ones the source no longer has).
    public func deleteMessages(channels: [Int64], ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        try await run("DELETE FROM messages WHERE channel_id = ANY(\(channels)) AND bucket = ANY(\(Self.buckets(of: ids))) AND id = ANY(\(ids))")
    }

    /// Makes the copy's set of channels, members, invites and mass mentions exactly the
    /// source's, before those rows are written again: what the source deleted goes here too.
    /// One statement (it runs while the workspace's writes wait).
    public func dropRowsMissingFromSource(_ workspace: Snowflake, channels: [Int64]) async throws {
        let byChannel = MovedTable.copiedByChannel.map { table in
            "\(table.rawValue) AS (DELETE FROM \(table.rawValue) WHERE channel_id IN (SELECT id FROM ids))"
        }
        try await run("""
            WITH ids AS (SELECT unnest(\(channels)::int8[]) AS id),
                 channels AS (DELETE FROM channels WHERE workspace_id = \(workspace.int64) AND id NOT IN (SELECT id FROM ids)),
                 members AS (DELETE FROM members WHERE workspace_id = \(workspace.int64)),
                 roles AS (DELETE FROM roles WHERE workspace_id = \(workspace.int64)),
                 bans AS (DELETE FROM bans WHERE workspace_id = \(workspace.int64)),
                 invites AS (DELETE FROM invites WHERE workspace_id = \(workspace.int64)),
                 share_invites AS (DELETE FROM share_invites WHERE channel_id IN (SELECT id FROM ids)),
                 \(unescaped: byChannel.joined(separator: ",\n     "))
            SELECT 1
            """)
    }

    /// Entries naming where the workspace lives, rewritten to say `cell` (a move undone half-way).
    public func reassertHome(_ workspace: Snowflake, cell: Int, version: Int64) async throws {
        try await run("""
            UPDATE directory SET cell_id = \(cell), version = \(version) WHERE workspace_id = \(workspace.int64) AND cell_id <> \(cell)
            """)
    }

    /// Gathers the moved tables' statistics now. A cell that has just taken a workspace's rows
    /// in bulk otherwise plans with statistics of what it held before until autovacuum comes
    /// by (a minute or more), and plans it cached stay with them: a READY batch read that takes
    /// microseconds took milliseconds, reading every user by hash join, after 10,000 members
    /// arrived at once.
    public func analyzeMovedTables() async throws {
        try await run("ANALYZE \(unescaped: MovedTable.allCases.map(\.rawValue).joined(separator: ", "))")
    }

    /// When each table's statistics were last gathered by an ANALYZE of its own (autovacuum's not counted).
    public func lastAnalyzed(_ tables: [MovedTable]) async throws -> [MovedTable: Date] {
        var answer: [MovedTable: Date] = [:]
        for row in try await run("""
            SELECT relname, last_analyze FROM pg_stat_user_tables
            WHERE relname = ANY(\(tables.map(\.rawValue))) AND last_analyze IS NOT NULL
            """) {
            let (name, at) = try row.decode((String, Date).self)
            if let table = MovedTable(rawValue: name) { answer[table] = at }
        }
        return answer
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
    /// channels and the numbers of members, read states and invites.
    public func workspaceFingerprint(_ workspace: Snowflake) async throws -> [String] {
        let channels = try await workspaceChannelIDs(workspace)
        return try await messageDigests(channels: channels, .all) + [try await workspaceCounts(workspace, channels: channels)]
    }

    /// Each channel's message count and digest ("channel:count:digest", channels without
    /// messages left out), over the messages `selection` takes. One pass over them: a sum of
    /// row hashes per channel needs neither a sort nor a text as long as the channel, and sums
    /// of parts add up to the whole's.
    public func messageDigests(channels: [Int64], _ selection: MessageSelection) async throws -> [String] {
        guard !channels.isEmpty else { return [] }
        let digests = "SELECT channel_id, count(*)::int, sum(hashtextextended(content, id) + (edited_at IS NOT NULL)::int)::text FROM messages"
        let rows = switch selection {
        case .except(let ids):
            try await run(prepared: """
                \(unescaped: digests) WHERE channel_id = ANY(\(channels)) AND id <> ALL(\(ids)) GROUP BY channel_id ORDER BY channel_id
                """)
        case .only(let ids):
            // Their buckets go along: the key is (channel, bucket, id).
            try await run(prepared: """
                \(unescaped: digests) WHERE channel_id = ANY(\(channels)) AND bucket = ANY(\(Self.buckets(of: ids))) AND id = ANY(\(ids))
                GROUP BY channel_id ORDER BY channel_id
                """)
        }
        return try rows.map { row in
            let (channel, count, digest) = try row.decode((Int64, Int, String).self)
            return "\(channel):\(count):\(digest)"
        }
    }

    /// The workspace's channels and its numbers of members, read states and invites.
    public func workspaceCounts(_ workspace: Snowflake, channels: [Int64]) async throws -> String {
        let counts = try await run("""
            SELECT (SELECT count(*)::int FROM members WHERE workspace_id = \(workspace.int64)),
                   (SELECT count(*)::int FROM read_states WHERE channel_id = ANY(\(channels))),
                   (SELECT count(*)::int FROM invites WHERE workspace_id = \(workspace.int64))
            """).first?.decode((Int, Int, Int).self) ?? (0, 0, 0)
        return "channels:\(channels) members:\(counts.0) read_states:\(counts.1) invites:\(counts.2)"
    }
}

/// Which of a channel's messages a digest covers.
public enum MessageSelection: Sendable {
    case except([Int64])
    case only([Int64])
    public static let all = MessageSelection.except([])
}

extension Transaction {
    /// Writes exported rows; a row already here (by the table's key) is replaced, except a
    /// profile, which is left as it is (a user homed here, or a copy as good as this one).
    /// The rows go by COPY into a scratch table of this transaction and from there into the
    /// table, so the replacing stays one statement. Run in a transaction: the copy passes the
    /// moved-workspace triggers (014), which refuse clients' writes to the workspace here until
    /// the switch.
    public func importRows(_ rows: RowExport) async throws {
        guard rows.count > 0 else { return }
        // The names go into the statements' text: only the table's own (an export file may lie).
        let known = try await rows.table.columns(in: self)
        guard rows.columns.allSatisfy(known.contains) else { throw MoveError("rows for \(rows.table) name columns it does not have") }
        let staging = try await stagingTable(for: rows.table)
        guard !connection.isClosed else { throw ConnectionClosed() }
        try await connection.copyFrom(table: staging, columns: rows.columns, logger: logger) { writer in
            try await writer.write(ByteBuffer(string: rows.text))
        }
        try await replaceRows(rows.table, columns: rows.columns, from: staging)
    }

    /// Rows as PostgreSQL's JSON gives them: what workspace exports of version 1 carry.
    public func importRows(_ table: MovedTable, json: String) async throws {
        let staging = try await stagingTable(for: table)
        let columns = table == .users ? MovedTable.profileColumns : try await table.columns(in: self)
        let list = MovedTable.quoted(columns)
        try await run("""
            INSERT INTO \(unescaped: staging) (\(unescaped: list))
            SELECT \(unescaped: list) FROM json_populate_recordset(NULL::\(unescaped: staging), \(json)::json)
            """)
        try await replaceRows(table, columns: columns, from: staging)
    }

    /// A scratch table shaped like `table`, dropped when the transaction ends; and the
    /// transaction marked a system write (see `markSystemWrite`), in the same round trip.
    private func stagingTable(for table: MovedTable) async throws -> String {
        let staging = "moving_" + table.rawValue
        try await run("""
            DO $$ BEGIN
                CREATE TEMP TABLE IF NOT EXISTS \(unescaped: staging) (LIKE \(unescaped: table.rawValue) INCLUDING DEFAULTS) ON COMMIT DROP;
                PERFORM \(unescaped: Self.systemWrite);
            END $$
            """)
        return staging
    }

    private func replaceRows(_ table: MovedTable, columns: [String], from staging: String) async throws {
        let list = MovedTable.quoted(columns)
        let conflict = table == .users
            ? "DO NOTHING"
            : "DO UPDATE SET (\(list)) = ROW(\(columns.map { "EXCLUDED.\"\($0)\"" }.joined(separator: ", ")))"
        // Emptied as it is read: a transaction may bring the same table's rows more than once.
        try await run("""
            WITH taken AS (DELETE FROM \(unescaped: staging) RETURNING *)
            INSERT INTO \(unescaped: table.rawValue) (\(unescaped: list)) SELECT \(unescaped: list) FROM taken
            ON CONFLICT (\(unescaped: table.conflictKey)) \(unescaped: conflict)
            """)
    }
}
