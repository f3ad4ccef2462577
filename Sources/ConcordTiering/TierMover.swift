import ConcordModels
import ConcordStorage
import Foundation
import Logging

/// Moves old buckets from PostgreSQL to archive files, and back.
///
/// Each move is copy (with fsync) → verify → catalog → delete, in that order. Until the catalog
/// says 'cold', reads use PostgreSQL; the switch and the deletion are one transaction. A crash
/// at any step leaves every message in exactly one readable place, and the next run finishes
/// the job: a 'copied' file is verified again and completed, an uncatalogued file is ignored
/// (and swept).
public struct TierMover: Sendable {
    /// The steps of a move, in order; `crashAfter` (tests only) stops the process after one.
    /// `copy` ends when the store holds the file durably: the store's put writes, fsyncs and
    /// renames, so a file is never visible under its name before it is on disk.
    public enum Step: String, Sendable, CaseIterable {
        case copy, verify, catalog, delete
    }

    public struct Report: Sendable {
        public var files: [(bucket: Int, name: String, rows: Int64, bytes: Int64, warmBytes: Int64)] = []
        public var completed = 0
        public var rewritten = 0
        public var swept = 0
        public var rows: Int64 { files.reduce(0) { $0 + $1.rows } }
    }

    let db: Database
    let store: any ArchiveStore
    let cellName: String
    let defaultDays: Int
    let crashAfter: Step?
    let logger: Logger

    public init(db: Database, store: any ArchiveStore, cellName: String, defaultDays: Int, crashAfter: Step? = nil,
                logger: Logger = Logger(label: "concord.tier")) {
        self.db = db
        self.store = store
        self.cellName = cellName
        self.defaultDays = defaultDays
        self.crashAfter = crashAfter
        self.logger = logger
    }

    /// One pass: finish interrupted moves, archive what the policy says is cold, fold edits
    /// into rewritten files, sweep files no catalog entry names.
    /// `progress`: after each bucket looked at, how many of the candidate buckets are done.
    public func run(now: Date = Date(), dryRun: Bool = false,
                    progress: @Sendable (_ done: Int, _ total: Int, _ bucket: Int) -> Void = { _, _, _ in }) async throws -> Report {
        var report = Report()
        let current = Snowflake.lowerBound(at: UInt64(now.timeIntervalSince1970 * 1000)).bucket
        if !dryRun {
            for file in try await db.archiveFiles(state: "copied") {
                try await finish(file)
                report.completed += 1
            }
        }
        let buckets = try await db.messageBuckets().filter { $0 < current }
        for (index, bucket) in buckets.enumerated() {
            defer { progress(index + 1, buckets.count, bucket) }
            let channels = try await db.coldCandidates(bucket: bucket, now: now, defaultDays: defaultDays)
            guard !channels.isEmpty else { continue }
            let rows = channels.reduce(0) { $0 + $1.rows }
            let warmBytes = try await db.warmBytes(bucket: bucket, rows: rows)
            if dryRun {
                report.files.append((bucket, "(dry run)", rows, 0, warmBytes))
                continue
            }
            report.files.append(try await archive(bucket: bucket, channels: channels, warmBytes: warmBytes))
        }
        if !dryRun {
            for file in try await db.archiveFilesWithOverrides() {
                try await rewrite(file)
                report.rewritten += 1
            }
            report.swept = try await sweep()
        }
        try await db.recordTierRun(files: report.files.count, rows: report.rows, dryRun: dryRun)
        return report
    }

    private func archive(bucket: Int, channels: [(channel: Snowflake, rows: Int64)], warmBytes: Int64) async throws
        -> (bucket: Int, name: String, rows: Int64, bytes: Int64, warmBytes: Int64) {
        let rows = try await db.exportRows(bucket: bucket, channels: channels.map(\.channel))
        let (data, digest) = try pack(rows, bucket: bucket)
        let sha = ArchiveCompression.sha256(data)
        let name = "\(cellName)-b\(bucket)-\(sha.prefix(16)).sqlite.zst"
        try await store.put(data, name: name)
        step(.copy)
        try await verify(name: name, sha256: sha, rowsSHA256: digest, rowCount: rows.count)
        step(.verify)
        let counts = Dictionary(grouping: rows, by: \.channelID).map { (channel: Snowflake(int64: $0.key), rows: Int64($0.value.count)) }
        let id = try await db.transaction { tx in
            try await tx.catalogArchive(bucket: bucket, name: name, sha256: sha, rowsSHA256: digest, rowCount: Int64(rows.count),
                                        bytes: Int64(data.count), warmBytes: warmBytes, channels: counts)
        }
        step(.catalog)
        guard let file = try await db.archiveFiles(state: "copied", bucket: bucket).first(where: { $0.id == id }) else {
            throw ArchiveStoreError(description: "catalog entry \(id) vanished")
        }
        try await complete(file, archived: rows)
        step(.delete)
        logger.info("archived bucket", metadata: ["bucket": "\(bucket)", "rows": "\(rows.count)", "bytes": "\(data.count)"])
        return (bucket, name, Int64(rows.count), Int64(data.count), warmBytes)
    }

    /// Builds the compressed archive for `rows`; answers its bytes and its rows' digest.
    func pack(_ rows: [ArchivedRow], bucket: Int) throws -> (Data, String) {
        let scratch = NSTemporaryDirectory() + "concord-archive-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try ArchiveFile.write(rows, cell: cellName, bucket: bucket, to: scratch)
        guard let raw = FileManager.default.contents(atPath: scratch) else { throw ArchiveStoreError(description: "cannot read \(scratch)") }
        return (try ArchiveCompression.compress(raw), ArchivedRow.digest(rows))
    }

    /// Reads a stored file back and checks it: stored checksum, SQLite integrity, row count and
    /// the digest of the rows themselves.
    func verify(name: String, sha256: String, rowsSHA256: String, rowCount: Int) async throws {
        let data = try await store.get(name)
        guard ArchiveCompression.sha256(data) == sha256 else { throw ArchiveStoreError(description: "\(name): checksum mismatch") }
        let scratch = NSTemporaryDirectory() + "concord-verify-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        guard FileManager.default.createFile(atPath: scratch, contents: try ArchiveCompression.decompress(data)) else {
            throw ArchiveStoreError(description: "cannot unpack \(name)")
        }
        let reader = try ArchiveFile.Reader(path: scratch)
        let integrity = try reader.integrityCheck()
        guard integrity == "ok" else { throw ArchiveStoreError(description: "\(name): integrity check says \(integrity)") }
        let rows = try reader.allRows()
        let metadata = try reader.metadata()
        guard rows.count == rowCount, metadata.rowCount == rowCount else {
            throw ArchiveStoreError(description: "\(name): \(rows.count) rows, expected \(rowCount)")
        }
        guard ArchivedRow.digest(rows) == rowsSHA256, metadata.rowsDigest == rowsSHA256 else {
            throw ArchiveStoreError(description: "\(name): rows do not match their digest")
        }
    }

    /// Completes a move interrupted after the catalog step: verify the file again, then remove
    /// the rows from PostgreSQL (what changed since the copy becomes overrides of the file). A
    /// file that fails is forgotten (its rows never left).
    private func finish(_ file: ArchiveFileRecord) async throws {
        let archived: [ArchivedRow]
        do {
            try await verify(name: file.name, sha256: file.sha256, rowsSHA256: file.rowsSHA256, rowCount: Int(file.rowCount))
            archived = try await rows(of: file)
        } catch {
            logger.warning("interrupted archive failed verification; rows stay warm", metadata: ["file": "\(file.name)", "error": "\(error)"])
            try await db.discardArchive(file.id)
            return
        }
        try await complete(file, archived: archived)
    }

    private func complete(_ file: ArchiveFileRecord, archived: [ArchivedRow]) async throws {
        _ = try await db.transaction { tx in try await tx.completeArchive(file, archived: archived) }
    }

    /// Writes a cold file again with its edits and deletions folded in, then swaps the catalog
    /// entry (and drops the folded overrides) in one transaction.
    private func rewrite(_ file: ArchiveFileRecord) async throws {
        let current = try await db.currentRows(of: try await rows(of: file))
        let (data, digest) = try pack(current, bucket: file.bucket)
        let sha = ArchiveCompression.sha256(data)
        let name = "\(cellName)-b\(file.bucket)-\(sha.prefix(16)).sqlite.zst"
        try await store.put(data, name: name)
        try await verify(name: name, sha256: sha, rowsSHA256: digest, rowCount: current.count)
        try await db.transaction { tx in
            try await tx.replaceArchive(file, name: name, sha256: sha, rowsSHA256: digest, rowCount: Int64(current.count), bytes: Int64(data.count))
        }
        if name != file.name { try await store.delete(file.name) }
    }

    /// Every row of a stored file, after checking its checksum.
    func rows(of file: ArchiveFileRecord) async throws -> [ArchivedRow] {
        let data = try await store.get(file.name)
        guard ArchiveCompression.sha256(data) == file.sha256 else { throw ArchiveStoreError(description: "\(file.name): checksum mismatch") }
        let scratch = NSTemporaryDirectory() + "concord-read-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        guard FileManager.default.createFile(atPath: scratch, contents: try ArchiveCompression.decompress(data)) else {
            throw ArchiveStoreError(description: "cannot unpack \(file.name)")
        }
        return try ArchiveFile.Reader(path: scratch).allRows()
    }

    /// Deletes stored files no catalog entry names (left by a run that stopped before its
    /// catalog step, or by a rewrite).
    private func sweep() async throws -> Int {
        let named = Set(try await db.archiveFiles().map(\.name))
        var swept = 0
        for name in try await store.list() where name.hasPrefix("\(cellName)-b") && !named.contains(name) {
            try await store.delete(name)
            swept += 1
        }
        return swept
    }

    /// Re-reads every catalogued file against its checksums; answers each problem found (and
    /// records it as an alert, or clears the alert of a file found sound).
    public func verifyAll() async throws -> [(name: String, problem: String?)] {
        var results: [(name: String, problem: String?)] = []
        for file in try await db.archiveFiles() {
            do {
                try await verify(name: file.name, sha256: file.sha256, rowsSHA256: file.rowsSHA256, rowCount: Int(file.rowCount))
                try await db.markVerified(fileID: file.id)
                results.append((file.name, nil))
            } catch {
                try await db.raiseTierAlert(fileID: file.id, problem: "\(error)")
                results.append((file.name, "\(error)"))
            }
        }
        return results
    }

    /// Brings a bucket's files back to PostgreSQL (with their edits and deletions applied).
    public func restore(bucket: Int) async throws -> Int64 {
        var restored: Int64 = 0
        for file in try await db.archiveFiles(bucket: bucket) {
            let current = try await db.currentRows(of: try await rows(of: file))
            try await db.ensureMessagePartition(bucket: bucket)
            try await db.transaction { tx in try await tx.restoreArchive(file, rows: current) }
            try await store.delete(file.name)
            restored += Int64(current.count)
        }
        return restored
    }

    private func step(_ done: Step) {
        guard done == crashAfter else { return }
        logger.critical("stopping after step as asked (crash test)", metadata: ["step": "\(done.rawValue)"])
        kill(getpid(), SIGKILL)
    }
}
