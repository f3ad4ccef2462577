import Crypto
import Foundation

/// One archived message: the columns the archive indexes, and the whole PostgreSQL row as JSON
/// (`row_to_json`), so the row comes back exactly as it was stored.
public struct ArchivedRow: Sendable, Equatable {
    public var channelID: Int64
    public var id: Int64
    public var authorID: Int64
    public var content: String
    public var row: String

    public init(channelID: Int64, id: Int64, authorID: Int64, content: String, row: String) {
        self.channelID = channelID; self.id = id; self.authorID = authorID; self.content = content; self.row = row
    }

    /// A digest of rows in (channel, id) order: written into the archive and the catalog, and
    /// recomputed from the archive's own rows to verify it.
    public static func digest(_ rows: [ArchivedRow]) -> String {
        var hash = SHA256()
        for row in rows {
            hash.update(data: Data("\(row.channelID)\t\(row.id)\t\(row.row)\n".utf8))
        }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// What an archive file says about itself (its `archive` table).
public struct ArchiveMetadata: Sendable, Equatable {
    public var format: String
    public var cell: String
    public var bucket: Int
    public var rowCount: Int
    public var rowsDigest: String
}

/// An archive file: an SQLite database holding one time bucket's messages of some channels,
/// indexed by (channel_id, id), with a full-text index of the content, and a table describing
/// the file. Any `sqlite3` opens it (after `zstd -d`, see ArchiveCompression).
public enum ArchiveFile {
    public static let format = "concord-archive/1"

    /// Writes a new archive at `path` (which must not exist).
    public static func write(_ rows: [ArchivedRow], cell: String, bucket: Int, to path: String) throws {
        let sorted = rows.sorted { ($0.channelID, $0.id) < ($1.channelID, $1.id) }
        let db = try SQLiteDatabase(path: path, readOnly: false)
        try db.execute("""
            PRAGMA journal_mode = OFF;
            PRAGMA page_size = 4096;
            BEGIN;
            CREATE TABLE archive (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE messages (
                channel_id INTEGER NOT NULL,
                id         INTEGER NOT NULL,
                author_id  INTEGER NOT NULL,
                content    TEXT NOT NULL,
                row        TEXT NOT NULL  -- the PostgreSQL row as JSON
            );
            CREATE UNIQUE INDEX messages_by_channel ON messages (channel_id, id);
            CREATE VIRTUAL TABLE messages_text USING fts5(content, content = 'messages', content_rowid = 'rowid');
            """)
        try db.run("INSERT INTO messages (channel_id, id, author_id, content, row) VALUES (?, ?, ?, ?, ?)",
                   sorted.map { [.integer($0.channelID), .integer($0.id), .integer($0.authorID), .text($0.content), .text($0.row)] })
        try db.execute("INSERT INTO messages_text (rowid, content) SELECT rowid, content FROM messages;")
        let metadata: [(String, String)] = [("format", format), ("cell", cell), ("bucket", String(bucket)),
                                            ("row_count", String(sorted.count)), ("rows_sha256", ArchivedRow.digest(sorted)),
                                            ("created_at", ISO8601DateFormatter().string(from: Date()))]
        try db.run("INSERT INTO archive (key, value) VALUES (?, ?)", metadata.map { [.text($0.0), .text($0.1)] })
        try db.execute("COMMIT; VACUUM;")
    }

    /// Reads an archive file (read-only).
    public final class Reader {
        private let db: SQLiteDatabase

        public init(path: String) throws {
            db = try SQLiteDatabase(path: path, readOnly: true)
        }

        public func metadata() throws -> ArchiveMetadata {
            var values: [String: String] = [:]
            for row in try db.query("SELECT key, value FROM archive") {
                if let key = row[0].text, let value = row[1].text { values[key] = value }
            }
            guard let format = values["format"], let cell = values["cell"], let bucket = values["bucket"].flatMap(Int.init),
                  let count = values["row_count"].flatMap(Int.init), let digest = values["rows_sha256"] else {
                throw ArchiveError(description: "archive metadata incomplete")
            }
            return ArchiveMetadata(format: format, cell: cell, bucket: bucket, rowCount: count, rowsDigest: digest)
        }

        /// Every row, in (channel, id) order.
        public func allRows() throws -> [ArchivedRow] {
            try db.query("SELECT channel_id, id, author_id, content, row FROM messages ORDER BY channel_id, id").map(Self.archivedRow)
        }

        /// SQLite's own consistency check ("ok" when sound).
        public func integrityCheck() throws -> String {
            try db.query("PRAGMA integrity_check").first?.first?.text ?? "no answer"
        }

        /// Up to `limit` rows of a channel older than `id` (all when nil), newest first.
        public func older(channel: Int64, than id: Int64?, limit: Int) throws -> [ArchivedRow] {
            try db.query("SELECT channel_id, id, author_id, content, row FROM messages WHERE channel_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                         [.integer(channel), .integer(id ?? .max), .integer(Int64(limit))]).map(Self.archivedRow)
        }

        /// Up to `limit` rows of a channel newer than `id`, oldest first.
        public func newer(channel: Int64, than id: Int64, limit: Int) throws -> [ArchivedRow] {
            try db.query("SELECT channel_id, id, author_id, content, row FROM messages WHERE channel_id = ? AND id > ? ORDER BY id ASC LIMIT ?",
                         [.integer(channel), .integer(id), .integer(Int64(limit))]).map(Self.archivedRow)
        }

        public func row(channel: Int64, id: Int64) throws -> ArchivedRow? {
            try db.query("SELECT channel_id, id, author_id, content, row FROM messages WHERE channel_id = ? AND id = ?",
                         [.integer(channel), .integer(id)]).first.map(Self.archivedRow)
        }

        private static func archivedRow(_ values: [SQLiteValue]) -> ArchivedRow {
            ArchivedRow(channelID: values[0].integer ?? 0, id: values[1].integer ?? 0, authorID: values[2].integer ?? 0,
                        content: values[3].text ?? "", row: values[4].text ?? "{}")
        }
    }
}
