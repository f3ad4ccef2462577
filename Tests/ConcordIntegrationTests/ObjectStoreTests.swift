import ConcordModels
import ConcordStorage
import ConcordTiering
import Foundation
import Testing

/// Archives and attachment blobs in an S3-compatible bucket: the store against a local S3
/// server that checks every request's signature (moto, started by `make test`), then a cell
/// keeping its files and `concordctl tier run` its archives there.
@Suite("Object store", .enabled(if: TestServers.objectStoreAvailable, "no local S3-compatible server could be installed (see make test's output)"))
struct ObjectStoreTests {
    static func store(prefix: String, secret: String? = nil) async throws -> S3ObjectStore {
        let settings = try await TestServers.objectStore(prefix: prefix)
        let keys = try TestServers.objectStoreKeys()
        return try S3ObjectStore(settings: settings, prefix: prefix, accessKey: keys.access, secretKey: secret ?? keys.secret)
    }

    @Test func objectsAreKeptReadListedAndDeletedAsInADirectory() async throws {
        let prefix = "store-\(UUID().uuidString.prefix(8))/"
        var store = try await Self.store(prefix: prefix)
        #expect(try await store.list().isEmpty)
        let payloads = (0..<5).map { Data("object \($0) ".utf8) + Data(repeating: UInt8($0), count: 1000 * $0) }
        for (index, payload) in payloads.enumerated() { try await store.put(payload, name: "obj-\(index)") }
        try await store.put(payloads[0], name: "obj-0")  // the same name again: idempotent
        for (index, payload) in payloads.enumerated() { #expect(try await store.get("obj-\(index)") == payload) }
        let (present, absent) = (try await store.exists("obj-3"), try await store.exists("obj-9"))
        #expect(present && !absent)
        #expect(try await store.get("obj-4", bytes: 2...9) == payloads[4][2...9])
        await #expect(throws: ArchiveStoreError.self) { try await store.get("obj-4", bytes: 0...10_000) }
        await #expect(throws: ArchiveStoreError.self) { try await store.get("obj-9") }

        // Listing pages through the bucket, two keys a page, and sees only this prefix.
        store.listPageSize = 2
        #expect(try await store.list() == (0..<5).map { "obj-\($0)" })
        let neighbour = try await Self.store(prefix: "other-\(UUID().uuidString.prefix(8))/")
        try await neighbour.put(Data("theirs".utf8), name: "obj-0")
        let (mine, theirs) = (try await store.list(), try await neighbour.list())
        #expect(mine.count == 5 && theirs == ["obj-0"])

        try await store.delete("obj-1")
        try await store.delete("obj-1")  // deleting what is gone is not an error
        #expect(try await store.list() == ["obj-0", "obj-2", "obj-3", "obj-4"])
        #expect(try await neighbour.get("obj-0") == Data("theirs".utf8))
        for bad in ["", "a/b", ".hidden"] {
            await #expect(throws: ArchiveStoreError.self) { try await store.put(Data(), name: bad) }
        }

        // A wrong secret is refused by the server (its signature does not match), at once.
        let forged = try await Self.store(prefix: prefix, secret: "not-the-secret-key")
        await #expect(throws: ArchiveStoreError.self) { try await forged.put(Data("forged".utf8), name: "obj-0") }
        await #expect(throws: ArchiveStoreError.self) { try await forged.list() }
        #expect(try await store.get("obj-0") == payloads[0], "nothing the forged call sent was stored")
    }

    /// A cell whose tiering names the bucket keeps attachments there (stored once, served by the
    /// edge with ranges, gone with their last message) and `concordctl tier run` archives there.
    @Test func aCellKeepsItsFilesAndArchivesInTheBucket() async throws {
        try await TestCluster.with(objectStore: true) { c in
            let cell = c.config.cells[0]
            let keys = try TestServers.objectStoreKeys()
            let blobs = try CellStores.blobs(of: cell, keys: keys)
            let archives = try CellStores.archives(of: cell, keys: keys)
            #expect(blobs is S3ObjectStore && archives is S3ObjectStore)

            let pair = try await c.workspaceOfTwo("Bucket", owner: "carol", member: "dave")
            let form = AttachmentTests.form(#"{"content":"in the bucket"}"#, [.init(field: "files[0]", name: "tiny.png", type: "image/png", data: AttachmentTests.png)])
            let sent = try await AttachmentTests.send(c, .POST, "/channels/\(pair.general)/messages", token: pair.owner.token, form: form)
            #expect(sent.status == 200, "\(sent.text)")
            let message = try sent.decode(Message.self)
            let again = try await AttachmentTests.send(c, .POST, "/channels/\(pair.general)/messages", token: pair.member.token, form: form)
            let copy = try again.decode(Message.self)
            let stored = try await blobs.list()
            #expect(stored == [ArchiveCompression.sha256(AttachmentTests.png)], "one object for the two uploads")
            #expect(!FileManager.default.fileExists(atPath: cell.blobDirectory), "nothing went to the directory")

            let whole = try await AttachmentTests.download(c, message.attachments[0].url)
            #expect(whole.status == 200 && whole.body == AttachmentTests.png && whole.headers.first(name: "Content-Type") == "image/png")
            let part = try await AttachmentTests.download(c, copy.attachments[0].url, range: "bytes=8-15")
            #expect(part.status == 206 && part.body == AttachmentTests.png[8...15])

            #expect(try await c.request(.DELETE, "/channels/\(pair.general)/messages/\(message.id)", token: pair.owner.token).status == 204)
            #expect(try await blobs.list() == stored, "the copy still names it")
            #expect(try await c.request(.DELETE, "/channels/\(pair.general)/messages/\(copy.id)", token: pair.member.token).status == 204)
            #expect(try await blobs.list().isEmpty, "gone with the last message naming it")

            // History archived by the operator's tool into the bucket reads as before.
            let history = try await TierTests.History.make(c)
            let before = try await history.pages()
            let run = try await c.concordctl(["tier", "run", "--ahead-days", "60"])
            #expect(run.status == 0, "\(run.log)")
            let files = try await c.domain.db.archiveFiles().map(\.name)
            let archived = try await archives.list()
            #expect(!files.isEmpty && Set(archived) == Set(files))
            #expect(!FileManager.default.fileExists(atPath: cell.archiveDirectory))
            #expect(try await history.pages() == before, "every page reads the same from the bucket's archives")
        }
    }
}
