import ConcordModels
import Foundation
import PostgresNIO

/// One stored file of a message, as serving it needs.
public struct AttachmentRow: Sendable, Equatable {
    public var id: Snowflake
    public var channelID: Snowflake
    public var messageID: Snowflake
    public var sha256: String
    public var size: Int
    public var contentType: String
    public var filename: String

    public init(id: Snowflake, channelID: Snowflake, messageID: Snowflake, sha256: String, size: Int, contentType: String, filename: String) {
        self.id = id; self.channelID = channelID; self.messageID = messageID
        self.sha256 = sha256; self.size = size; self.contentType = contentType; self.filename = filename
    }
}

/// Which blob each attachment is, and which blobs are still referenced.
extension SQLExecutor {
    /// Holds a blob's name against a concurrent sweep of it until this transaction ends:
    /// shared by writers that add a reference, exclusive for the one that removes the blob.
    public func lockBlob(_ sha256: String, exclusive: Bool) async throws {
        if exclusive {
            try await run("SELECT pg_advisory_xact_lock(hashtextextended(\(sha256), 7))")
        } else {
            try await run("SELECT pg_advisory_xact_lock_shared(hashtextextended(\(sha256), 7))")
        }
    }

    public func insertAttachments(_ rows: [AttachmentRow]) async throws {
        for a in rows {
            try await run("""
                INSERT INTO attachments (id, channel_id, message_id, sha256, size, content_type, filename)
                VALUES (\(a.id.int64), \(a.channelID.int64), \(a.messageID.int64), \(a.sha256), \(a.size), \(a.contentType), \(a.filename))
                ON CONFLICT (id) DO NOTHING
                """)
        }
    }

    /// Forgets the attachments of deleted messages (or, with `keeping`, those an edit dropped);
    /// answers the blobs they were.
    public func deleteAttachments(channelID: Snowflake, messageIDs: [Snowflake], keeping: [Snowflake] = []) async throws -> [String] {
        try await run("""
            DELETE FROM attachments WHERE channel_id = \(channelID.int64) AND message_id = ANY(\(messageIDs.map(\.int64)))
              AND NOT (id = ANY(\(keeping.map(\.int64))))
            RETURNING sha256
            """).map { try $0.decode(String.self) }
    }

    public func attachment(channelID: Snowflake, id: Snowflake) async throws -> AttachmentRow? {
        try await run("""
            SELECT id, channel_id, message_id, sha256, size, content_type, filename FROM attachments
            WHERE id = \(id.int64) AND channel_id = \(channelID.int64)
            """).first.map { row in
            let (id, channel, message, sha, size, type, name) = try row.decode((Int64, Int64, Int64, String, Int, String, String).self)
            return AttachmentRow(id: Snowflake(int64: id), channelID: Snowflake(int64: channel), messageID: Snowflake(int64: message),
                                 sha256: sha, size: size, contentType: type, filename: name)
        }
    }

    /// Those of `names` some attachment names.
    public func referencedBlobs(among names: [String]) async throws -> Set<String> {
        guard !names.isEmpty else { return [] }
        return Set(try await run("SELECT DISTINCT sha256 FROM attachments WHERE sha256 = ANY(\(names))").map { try $0.decode(String.self) })
    }

    public func isBlobReferenced(_ sha256: String) async throws -> Bool {
        !(try await run("SELECT 1 FROM attachments WHERE sha256 = \(sha256) LIMIT 1")).isEmpty
    }
}
