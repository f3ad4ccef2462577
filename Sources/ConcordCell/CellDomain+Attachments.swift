import ConcordModels
import ConcordStorage
import Foundation

/// A new attachment: the object the message carries, its row, and its bytes.
struct StagedUpload: Sendable {
    var attachment: Attachment
    var row: AttachmentRow
    var data: Data
}

/// Attachments: files stored once per content in the blob store, named in the message's row
/// and in `attachments`; a blob goes when the last attachment naming it does.
extension CellDomain {
    /// The uploads a request's `attachments` entries name (`id`: the `files[n]` index), ready
    /// to store under `messageID`. Entries whose id is an attachment of `kept` are left to the
    /// caller (an edit keeps them); any other entry without its file is a form error.
    func stage(_ entries: [AttachmentRequest], uploads: [Int: Upload], channelID: Snowflake, messageID: Snowflake,
               baseURL: String, kept: Set<UInt64> = []) throws -> [StagedUpload] {
        var staged: [StagedUpload] = []
        var errors = FormErrors()
        for (index, entry) in entries.enumerated() {
            guard let number = entry.number, !kept.contains(number) else { continue }
            guard number < UInt64(Int.max), let upload = uploads[Int(number)] else {
                errors.add(["attachments", String(index), "id"], code: "ATTACHMENT_NOT_FOUND", message: "No file was uploaded for this attachment.")
                continue
            }
            let id = ids.next()
            let filename = Attachment.safeFilename(entry.filename ?? upload.filename)
            let type = UploadKind.contentType(declared: upload.contentType, bytes: upload.data)
            let size = UploadKind.dimensions(upload.data)
            let url = baseURL + Attachment.path(channel: channelID, attachment: id, filename: filename)
            let sha = ArchiveCompression.sha256(upload.data)
            staged.append(StagedUpload(
                attachment: Attachment(id: id, filename: filename, description: entry.description, contentType: type,
                                       size: upload.data.count, url: url, width: size?.width, height: size?.height),
                row: AttachmentRow(id: id, channelID: channelID, messageID: messageID, sha256: sha, size: upload.data.count,
                                   contentType: type, filename: filename),
                data: upload.data))
        }
        try errors.throwIfAny()
        return staged
    }

    /// Writes the blobs of staged uploads that are not stored yet (outside any transaction:
    /// a file of megabytes is not written while rows are locked).
    func storeBlobs(_ staged: [StagedUpload]) async throws {
        for upload in staged where try await !blobs.exists(upload.row.sha256) {
            try await blobs.put(upload.data, name: upload.row.sha256)
        }
    }

    /// Records staged uploads in the transaction that writes their message. Each blob is held
    /// against removal until the transaction ends, and written again if a removal took it
    /// between `storeBlobs` and now.
    func recordUploads(_ staged: [StagedUpload], _ tx: Transaction) async throws {
        for upload in staged {
            try await tx.lockBlob(upload.row.sha256, exclusive: false)
            if try await !blobs.exists(upload.row.sha256) { try await blobs.put(upload.data, name: upload.row.sha256) }
        }
        try await tx.insertAttachments(staged.map(\.row))
    }

    /// Removes the blobs no attachment names any more (after the deletions that let them go
    /// have committed). A failure leaves an unreferenced blob behind, never a missing one.
    func releaseBlobs(_ names: [String]) async {
        for name in Set(names) {
            do {
                try await db.transaction { tx in
                    try await tx.lockBlob(name, exclusive: true)
                    if try await !tx.isBlobReferenced(name) { try await self.blobs.delete(name) }
                }
            } catch {
                logger.warning("an unreferenced blob was not removed", metadata: ["blob": "\(name)", "error": "\(error)"])
            }
        }
    }

    /// Removes the blobs no attachment has named for a whole sweep interval: those whose rows
    /// went with a deleted channel or workspace, or whose upload failed after the blob was
    /// written. A blob unnamed at one sweep goes at the next if still unnamed, so an upload
    /// (its blob is written a moment before its row) is never caught between the two.
    /// Answers how many blobs were due.
    @discardableResult
    public func sweepBlobs() async throws -> Int {
        let names = Set(try await blobs.list())
        let unnamed = names.subtracting(try await db.referencedBlobs(among: Array(names)))
        let due = unnamedBlobs.withLock { previous in
            defer { previous = unnamed }
            return unnamed.intersection(previous)
        }
        await releaseBlobs(Array(due))
        return due.count
    }

    /// An attachment whose blob is there, for the edges that serve its URL (which they have
    /// verified); its bytes are read a piece at a time with `blobs.get(_:bytes:)`.
    public func servedAttachment(_ channelID: Snowflake, attachmentID: Snowflake) async throws -> AttachmentRow {
        guard let row = try await db.attachment(channelID: channelID, id: attachmentID) else { throw APIError.notFound }
        guard try await blobs.exists(row.sha256) else {
            logger.error("an attachment's blob is missing", metadata: ["attachment": "\(attachmentID)", "blob": "\(row.sha256)"])
            throw APIError.notFound
        }
        return row
    }
}
