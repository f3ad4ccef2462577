import ConcordModels
import Crypto
import Foundation
import PostgresNIO

/// A catalogued archive file.
public struct ArchiveFileRecord: Sendable, Equatable {
    public var id: Int64
    public var bucket: Int
    public var name: String
    public var sha256: String
    public var rowsSHA256: String
    public var rowCount: Int64
    public var bytes: Int64
    public var warmBytes: Int64
    public var state: String
    public var createdAt: Date
    public var verifiedAt: Date?
}

/// A channel's rows of one bucket that are cold: which file has them, and how many of them
/// were deleted since (so a page reads enough rows to fill up after dropping those).
public struct ColdSegment: Sendable, Equatable {
    public var bucket: Int
    public var fileID: Int64
    public var name: String
    public var sha256: String
    public var deleted: Int
}

/// The tiers' sizes for `concordctl tier status`.
public struct TierStatus: Sendable {
    public var warmRows: Int64
    public var warmBytes: Int64
    public var oldestWarmBucket: Int?
    public var coldRows: Int64
    public var coldBytes: Int64
    public var coldFiles: Int
    public var copiedFiles: Int
    public var overrides: Int64
    public var lastRunAt: Date?
    public var lastRunRows: Int64?
    public var alerts: [(name: String, problem: String, seenAt: Date)]
}

extension SQLExecutor {
    private static var fileColumns: String { "f.id, f.bucket, f.name, f.sha256, f.rows_sha256, f.row_count, f.bytes, f.warm_bytes, f.state, f.created_at, f.verified_at" }

    private static func file(_ row: PostgresRow) throws -> ArchiveFileRecord {
        let (id, bucket, name, sha, rowsSHA, count, bytes, warm, state, created, verified) =
            try row.decode((Int64, Int, String, String, String, Int64, Int64, Int64, String, Date, Date?).self)
        return ArchiveFileRecord(id: id, bucket: bucket, name: name, sha256: sha, rowsSHA256: rowsSHA, rowCount: count, bytes: bytes,
                                 warmBytes: warm, state: state, createdAt: created, verifiedAt: verified)
    }

    /// A row selected as (channel_id, id, author_id, content, row JSON).
    static func archivedRow(_ row: PostgresRow) throws -> ArchivedRow {
        let (channel, id, author, content, json) = try row.decode((Int64, Int64, Int64, String, String).self)
        return ArchivedRow(channelID: channel, id: id, authorID: author, content: content, row: json)
    }

    // MARK: Choosing and moving rows

    /// The buckets that have a message partition.
    public func messageBuckets() async throws -> [Int] {
        try await run("""
            SELECT substring(c.relname FROM 'messages_b([0-9]+)')::int FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'messages'::regclass ORDER BY 1
            """).map { try $0.decode(Int.self) }
    }

    /// The channels whose rows of `bucket` are old enough to go cold under their workspace's
    /// policy (or the cell's default), with their row counts.
    public func coldCandidates(bucket: Int, now: Date, defaultDays: Int) async throws -> [(channel: Snowflake, rows: Int64)] {
        let bucketEnd = Int64(bucket + 1) * Int64(Snowflake.bucketMilliseconds) + Int64(Snowflake.discordEpochMilliseconds)
        let nowMilliseconds = Int64(now.timeIntervalSince1970 * 1000)
        return try await run("""
            SELECT m.channel_id, count(*) FROM messages m LEFT JOIN tier_policies p ON p.workspace_id = m.workspace_id
            WHERE m.bucket = \(bucket)
              AND \(bucketEnd) <= \(nowMilliseconds) - COALESCE(p.cold_after_days, \(defaultDays))::bigint * 86400000
              AND NOT EXISTS (SELECT 1 FROM archived_channels a WHERE a.channel_id = m.channel_id AND a.bucket = m.bucket)
            GROUP BY m.channel_id ORDER BY m.channel_id
            """).map { row in
            let (channel, count) = try row.decode((Int64, Int64).self)
            return (Snowflake(int64: channel), count)
        }
    }

    /// The rows to archive, each with its whole row as JSON.
    public func exportRows(bucket: Int, channels: [Snowflake]) async throws -> [ArchivedRow] {
        try await run("""
            SELECT m.channel_id, m.id, m.author_id, m.content, row_to_json(m)::text FROM messages m
            WHERE m.bucket = \(bucket) AND m.channel_id = ANY(\(channels.map(\.int64))) ORDER BY m.channel_id, m.id
            """).map(Self.archivedRow)
    }

    /// What `rows` of the bucket's partition take in PostgreSQL: its share of the partition's
    /// table, TOAST and index bytes.
    public func warmBytes(bucket: Int, rows: Int64) async throws -> Int64 {
        let partition = "messages_b\(bucket)"
        return try await run("""
            SELECT (pg_total_relation_size(\(partition)::regclass) * \(rows) / GREATEST((SELECT count(*) FROM messages WHERE bucket = \(bucket)), 1))::bigint
            """).first?.decode(Int64.self) ?? 0
    }

    /// Records a written, verified file whose rows are still in PostgreSQL ('copied').
    public func catalogArchive(bucket: Int, name: String, sha256: String, rowsSHA256: String, rowCount: Int64, bytes: Int64,
                               warmBytes: Int64, channels: [(channel: Snowflake, rows: Int64)]) async throws -> Int64 {
        let id = try await run("""
            INSERT INTO archive_files (bucket, name, sha256, rows_sha256, row_count, bytes, warm_bytes, state, verified_at)
            VALUES (\(bucket), \(name), \(sha256), \(rowsSHA256), \(rowCount), \(bytes), \(warmBytes), 'copied', now())
            RETURNING id
            """).first?.decode(Int64.self) ?? 0
        try await run("""
            INSERT INTO archived_channels (channel_id, bucket, file_id, row_count)
            SELECT c, \(bucket), \(id), n FROM unnest(\(channels.map(\.channel.int64))::bigint[], \(channels.map(\.rows))::bigint[]) AS t(c, n)
            """)
        return id
    }

    /// The last step of a move: the file's rows leave PostgreSQL and reads switch to the file.
    /// Answers how many rows were removed.
    ///
    /// `archived` are the file's rows. Whatever changed in PostgreSQL since they were copied
    /// (an edit, a deletion, between the copy and now or before an interrupted run is finished)
    /// becomes an override of the file, as an edit of a cold message does: nothing is lost. The
    /// rows are locked first, so no edit slips in between. Only the copied rows leave; a row the
    /// file does not hold (written into the bucket since) stays warm.
    public func completeArchive(_ file: ArchiveFileRecord, archived: [ArchivedRow]) async throws -> Int {
        let (channels, ids) = (archived.map(\.channelID), archived.map(\.id))
        let digests = archived.map { Insecure.MD5.hash(data: Data($0.row.utf8)).map { String(format: "%02x", $0) }.joined() }
        try await run("""
            SELECT 1 FROM messages m JOIN archived_channels a ON a.channel_id = m.channel_id AND a.bucket = m.bucket
            WHERE a.file_id = \(file.id) AND m.bucket = \(file.bucket) FOR UPDATE OF m
            """)
        try await run("""
            WITH copied AS (
                SELECT * FROM unnest(\(channels)::bigint[], \(ids)::bigint[], \(digests)::text[]) AS c(channel_id, id, digest)
            ), changed AS (
                INSERT INTO archive_overrides (channel_id, bucket, id, row)
                SELECT m.channel_id, m.bucket, m.id, row_to_json(m)::jsonb FROM messages m
                JOIN copied c ON c.channel_id = m.channel_id AND c.id = m.id
                WHERE m.bucket = \(file.bucket) AND md5(row_to_json(m)::text) <> c.digest
                ON CONFLICT (channel_id, bucket, id) DO UPDATE SET row = EXCLUDED.row
            )
            INSERT INTO archive_overrides (channel_id, bucket, id, row)
            SELECT c.channel_id, \(file.bucket), c.id, NULL FROM copied c
            WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.bucket = \(file.bucket) AND m.channel_id = c.channel_id AND m.id = c.id)
            ON CONFLICT (channel_id, bucket, id) DO UPDATE SET row = NULL
            """)
        let removed = try await run("""
            WITH gone AS (
                DELETE FROM messages m USING unnest(\(channels)::bigint[], \(ids)::bigint[]) AS c(channel_id, id)
                WHERE m.bucket = \(file.bucket) AND m.channel_id = c.channel_id AND m.id = c.id
                RETURNING 1
            )
            SELECT count(*)::int FROM gone
            """).first?.decode(Int.self) ?? 0
        try await run("UPDATE archive_files SET state = 'cold' WHERE id = \(file.id)")
        return removed
    }

    /// Forgets a file whose rows are still in PostgreSQL (a 'copied' file that failed verification).
    public func discardArchive(_ fileID: Int64) async throws {
        try await run("DELETE FROM archive_files WHERE id = \(fileID) AND state = 'copied'")
    }

    public func archiveFiles(state: String? = nil, bucket: Int? = nil) async throws -> [ArchiveFileRecord] {
        try await run("""
            SELECT \(unescaped: Self.fileColumns) FROM archive_files f
            WHERE (\(state)::text IS NULL OR f.state = \(state)) AND (\(bucket)::int IS NULL OR f.bucket = \(bucket))
            ORDER BY f.bucket, f.id
            """).map(Self.file)
    }

    /// Files that have edits or deletions waiting to be folded in.
    public func archiveFilesWithOverrides() async throws -> [ArchiveFileRecord] {
        try await run("""
            SELECT \(unescaped: Self.fileColumns) FROM archive_files f WHERE f.state = 'cold' AND EXISTS (
                SELECT 1 FROM archived_channels a JOIN archive_overrides o ON o.channel_id = a.channel_id AND o.bucket = a.bucket
                WHERE a.file_id = f.id)
            ORDER BY f.bucket, f.id
            """).map(Self.file)
    }

    // MARK: Reading cold rows

    /// Whether one of the channel's buckets has left PostgreSQL for an archive file.
    public func isCold(channelID: Snowflake, bucket: Int) async throws -> Bool {
        try await run("""
            SELECT EXISTS (SELECT 1 FROM archived_channels a JOIN archive_files f ON f.id = a.file_id
                           WHERE a.channel_id = \(channelID.int64) AND a.bucket = \(bucket) AND f.state = 'cold')
            """).first?.decode(Bool.self) ?? false
    }

    /// The channel's cold buckets, oldest first.
    public func coldSegments(channelID: Snowflake) async throws -> [ColdSegment] {
        try await run("""
            SELECT a.bucket, f.id, f.name, f.sha256,
                   (SELECT count(*)::int FROM archive_overrides o WHERE o.channel_id = a.channel_id AND o.bucket = a.bucket AND o.row IS NULL)
            FROM archived_channels a JOIN archive_files f ON f.id = a.file_id
            WHERE a.channel_id = \(channelID.int64) AND f.state = 'cold'
            ORDER BY a.bucket
            """).map { row in
            let (bucket, id, name, sha, deleted) = try row.decode((Int, Int64, String, String, Int).self)
            return ColdSegment(bucket: bucket, fileID: id, name: name, sha256: sha, deleted: deleted)
        }
    }

    /// Archived rows as the messages they are now: edits applied, deletions dropped, authors
    /// joined as for warm messages. Newest first.
    public func hydrateArchived(_ rows: [ArchivedRow]) async throws -> [MessageRecord] {
        guard !rows.isEmpty else { return [] }
        return try await run("""
            WITH archived AS (SELECT * FROM json_populate_recordset(NULL::messages, \(Self.jsonArray(rows))::json)),
            \(unescaped: Self.currentArchived)
            \(unescaped: Columns.message) FROM current_rows msg \(unescaped: Columns.messageAuthor) ORDER BY msg.id DESC
            """).map(Self.message)
    }

    /// `current_rows`: the CTE `archived` with its overrides applied.
    private static var currentArchived: String { """
        current_rows AS (
            SELECT a.* FROM archived a WHERE NOT EXISTS (
                SELECT 1 FROM archive_overrides o WHERE o.channel_id = a.channel_id AND o.bucket = a.bucket AND o.id = a.id)
            UNION ALL
            SELECT r.* FROM archived a
            JOIN archive_overrides o ON o.channel_id = a.channel_id AND o.bucket = a.bucket AND o.id = a.id AND o.row IS NOT NULL
            CROSS JOIN LATERAL jsonb_populate_record(NULL::messages, o.row) r
        )
        """ }

    static func jsonArray(_ rows: [ArchivedRow]) -> String {
        "[" + rows.map(\.row).joined(separator: ",") + "]"
    }

    // MARK: Writing to cold messages

    /// Records an edit of an archived message: its stored row (`base`, or the last edit's) with
    /// the edited columns replaced.
    public func overrideArchived(_ m: MessageRecord, base: ArchivedRow) async throws {
        try await run("""
            INSERT INTO archive_overrides (channel_id, bucket, id, row)
            SELECT \(m.channelID.int64), \(m.id.bucket), \(m.id.int64),
                   COALESCE((SELECT row FROM archive_overrides WHERE channel_id = \(m.channelID.int64) AND bucket = \(m.id.bucket) AND id = \(m.id.int64)),
                            \(base.row)::jsonb)
                   || jsonb_build_object('content', \(m.content)::text, 'embeds', \(m.embedsJSON)::jsonb, 'components', \(m.componentsJSON)::jsonb,
                                         'flags', \(m.flags)::int, 'mention_ids', \(m.mentionIDs.map(\.int64))::bigint[],
                                         'mention_everyone', \(m.mentionEveryone)::boolean, 'edited_at', \(m.editedAt)::timestamptz,
                                         'attachments', \(m.attachmentsJSON)::jsonb)
            ON CONFLICT (channel_id, bucket, id) DO UPDATE SET row = EXCLUDED.row
            """)
    }

    /// Records the deletion of an archived message.
    public func deleteArchived(channelID: Snowflake, id: Snowflake) async throws {
        try await run("""
            INSERT INTO archive_overrides (channel_id, bucket, id, row) VALUES (\(channelID.int64), \(id.bucket), \(id.int64), NULL)
            ON CONFLICT (channel_id, bucket, id) DO UPDATE SET row = NULL
            """)
    }

    // MARK: Rewriting and restoring

    /// A file's rows as they are now (overrides applied), for a rewrite or a restore.
    public func currentRows(of rows: [ArchivedRow]) async throws -> [ArchivedRow] {
        guard !rows.isEmpty else { return [] }
        return try await run("""
            WITH archived AS (SELECT * FROM json_populate_recordset(NULL::messages, \(Self.jsonArray(rows))::json)),
            \(unescaped: Self.currentArchived)
            SELECT m.channel_id, m.id, m.author_id, m.content, row_to_json(m)::text FROM current_rows m ORDER BY m.channel_id, m.id
            """).map(Self.archivedRow)
    }

    /// Puts a file's rows back into PostgreSQL and forgets the file (one transaction: the
    /// rows are read from exactly one place before and after).
    public func restoreArchive(_ file: ArchiveFileRecord, rows: [ArchivedRow]) async throws {
        if !rows.isEmpty {
            try await run("""
                INSERT INTO messages SELECT * FROM json_populate_recordset(NULL::messages, \(Self.jsonArray(rows))::json)
                ON CONFLICT DO NOTHING
                """)
        }
        try await run("""
            DELETE FROM archive_overrides o USING archived_channels a
            WHERE a.file_id = \(file.id) AND o.channel_id = a.channel_id AND o.bucket = a.bucket
            """)
        try await run("DELETE FROM archive_files WHERE id = \(file.id)")
    }

    /// Swaps a file for its rewrite (same channels and bucket) and drops the overrides folded in.
    public func replaceArchive(_ old: ArchiveFileRecord, name: String, sha256: String, rowsSHA256: String, rowCount: Int64,
                               bytes: Int64) async throws {
        try await run("""
            DELETE FROM archive_overrides o USING archived_channels a
            WHERE a.file_id = \(old.id) AND o.channel_id = a.channel_id AND o.bucket = a.bucket
            """)
        try await run("""
            UPDATE archive_files SET name = \(name), sha256 = \(sha256), rows_sha256 = \(rowsSHA256), row_count = \(rowCount),
                   bytes = \(bytes), verified_at = now()
            WHERE id = \(old.id)
            """)
    }

    // MARK: Policy, runs, alerts, status

    public func setTierPolicy(workspaceID: Snowflake, coldAfterDays: Int?) async throws {
        if let days = coldAfterDays {
            try await run("""
                INSERT INTO tier_policies (workspace_id, cold_after_days) VALUES (\(workspaceID.int64), \(days))
                ON CONFLICT (workspace_id) DO UPDATE SET cold_after_days = EXCLUDED.cold_after_days
                """)
        } else {
            try await run("DELETE FROM tier_policies WHERE workspace_id = \(workspaceID.int64)")
        }
    }

    public func recordTierRun(files: Int, rows: Int64, dryRun: Bool) async throws {
        try await run("INSERT INTO tier_runs (finished_at, files, row_count, dry_run) VALUES (now(), \(files), \(rows), \(dryRun))")
    }

    public func raiseTierAlert(fileID: Int64, problem: String) async throws {
        try await run("""
            INSERT INTO tier_alerts (file_id, problem) VALUES (\(fileID), \(problem))
            ON CONFLICT (file_id) DO UPDATE SET problem = EXCLUDED.problem, seen_at = now()
            """)
    }

    public func markVerified(fileID: Int64) async throws {
        try await run("DELETE FROM tier_alerts WHERE file_id = \(fileID)")
        try await run("UPDATE archive_files SET verified_at = now() WHERE id = \(fileID)")
    }

    public func tierStatus() async throws -> TierStatus {
        let warm = try await run("""
            SELECT count(*), min(bucket), COALESCE((SELECT sum(pg_total_relation_size(i.inhrelid))::bigint FROM pg_inherits i
                                                    WHERE i.inhparent = 'messages'::regclass), 0)
            FROM messages
            """).first
        let cold = try await run("""
            SELECT COALESCE(sum(row_count) FILTER (WHERE state = 'cold'), 0)::bigint, COALESCE(sum(bytes) FILTER (WHERE state = 'cold'), 0)::bigint,
                   count(*) FILTER (WHERE state = 'cold')::int, count(*) FILTER (WHERE state = 'copied')::int,
                   (SELECT count(*) FROM archive_overrides)
            FROM archive_files
            """).first
        guard let warm, let cold else { throw ArchiveError(description: "tier status: no answer") }
        let (warmRows, oldest, warmBytes) = try warm.decode((Int64, Int?, Int64).self)
        let (coldRows, coldBytes, coldFiles, copied, overrides) = try cold.decode((Int64, Int64, Int, Int, Int64).self)
        let last = try await run("SELECT finished_at, row_count FROM tier_runs WHERE NOT dry_run ORDER BY id DESC LIMIT 1").first
        let (lastAt, lastRows) = try last.map { try $0.decode((Date?, Int64).self) } ?? (nil, Int64(0))
        let alerts = try await run("""
            SELECT f.name, t.problem, t.seen_at FROM tier_alerts t JOIN archive_files f ON f.id = t.file_id ORDER BY t.seen_at
            """).map { row in
            let (name, problem, at) = try row.decode((String, String, Date).self)
            return (name: name, problem: problem, seenAt: at)
        }
        return TierStatus(warmRows: warmRows, warmBytes: warmBytes, oldestWarmBucket: oldest, coldRows: coldRows, coldBytes: coldBytes,
                          coldFiles: coldFiles, copiedFiles: copied, overrides: overrides, lastRunAt: lastAt,
                          lastRunRows: last == nil ? nil : lastRows, alerts: alerts)
    }
}
