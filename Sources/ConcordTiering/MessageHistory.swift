import ConcordModels
import ConcordStorage
import Foundation

/// A channel's history across the warm tier (PostgreSQL) and the cold one (archive files):
/// a page is the newest (or oldest) `limit` messages of both on the requested side of the
/// cursor, so pagination runs from warm into cold without the reader noticing.
public struct MessageHistory: Sendable {
    public let db: Database
    public let archives: ArchiveCache

    public init(db: Database, archives: ArchiveCache) {
        self.db = db
        self.archives = archives
    }

    /// A page, newest first, as `SQLExecutor.messages(channelID:page:limit:)` pages.
    public func page(_ channelID: Snowflake, _ page: HistoryPage, limit: Int) async throws -> [MessageRecord] {
        switch page {
        case .latest: return try await older(channelID, than: nil, limit: limit)
        case .before(let id): return try await older(channelID, than: id, limit: limit)
        case .after(let id): return try await newer(channelID, than: id, limit: limit)
        case .around(let id):
            // Discord's around: the message itself and up to limit/2 on each side.
            let newer = try await newer(channelID, than: id, limit: limit / 2)
            return newer + (try await older(channelID, than: Snowflake(min(id.rawValue + 1, Snowflake.max.rawValue)), limit: limit - newer.count))
        }
    }

    /// One message wherever it is; `archived` is its stored row when it is cold.
    public func message(_ channelID: Snowflake, id: Snowflake) async throws -> (record: MessageRecord, archived: ArchivedRow?)? {
        if let warm = try await db.message(channelID: channelID, id: id) { return (warm, nil) }
        guard let segment = try await db.coldSegments(channelID: channelID).first(where: { $0.bucket == id.bucket }) else { return nil }
        guard let row = try await read(segment, { try $0.row(channel: channelID.int64, id: id.int64) }) else { return nil }
        guard let record = try await db.hydrateArchived([row]).first else { return nil }
        return (record, row)
    }

    private func older(_ channelID: Snowflake, than id: Snowflake?, limit: Int) async throws -> [MessageRecord] {
        let warm = try await db.messages(channelID: channelID, page: id.map(HistoryPage.before) ?? .latest, limit: limit)
        var segments = try await db.coldSegments(channelID: channelID).reversed().filter { id == nil || $0.bucket <= id!.bucket }
        // Buckets entirely older than a full warm page cannot contribute.
        if warm.count == limit, let oldest = warm.last { segments.removeAll { $0.bucket < oldest.id.bucket } }
        var cold: [MessageRecord] = []
        for segment in segments {
            let rows = try await read(segment) { try $0.older(channel: channelID.int64, than: id?.int64, limit: limit + segment.deleted) }
            cold += try await db.hydrateArchived(rows)
            if cold.count >= limit { break }
        }
        guard !cold.isEmpty else { return warm }
        return Array((warm + cold).sorted { $0.id > $1.id }.prefix(limit))
    }

    private func newer(_ channelID: Snowflake, than id: Snowflake, limit: Int) async throws -> [MessageRecord] {
        let warm = try await db.messages(channelID: channelID, page: .after(id), limit: limit)
        var segments = try await db.coldSegments(channelID: channelID).filter { $0.bucket >= id.bucket }
        if warm.count == limit, let newest = warm.first { segments.removeAll { $0.bucket > newest.id.bucket } }
        var cold: [MessageRecord] = []
        for segment in segments {
            let rows = try await read(segment) { try $0.newer(channel: channelID.int64, than: id.int64, limit: limit + segment.deleted) }
            cold += try await db.hydrateArchived(rows)
            if cold.count >= limit { break }
        }
        guard !cold.isEmpty else { return warm }
        // The oldest `limit` after the cursor, returned newest first like every page.
        return Array((warm + cold).sorted { $0.id < $1.id }.prefix(limit).reversed())
    }

    /// Reads from a cold segment's file. A missing or corrupt file fails the page with a clear
    /// error (never a silent hole) and raises an alert for `concordctl tier status`.
    func read<T>(_ segment: ColdSegment, _ body: (ArchiveFile.Reader) throws -> T) async throws -> T {
        do {
            let path = try await archives.open(segment.name, sha256: segment.sha256)
            return try body(try ArchiveFile.Reader(path: path))
        } catch {
            try? await db.raiseTierAlert(fileID: segment.fileID, problem: "\(error)")
            throw APIError(status: 503, code: 0, message: "Message history for this page is temporarily unavailable (archive \(segment.name))")
        }
    }
}
