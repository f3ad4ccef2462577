import ConcordStorage
@testable import ConcordTiering
import Foundation
import Testing

/// The local copies of cold archives a process unpacks go with it: its own when the cache is
/// released, and those of a process that was killed when the next one starts.
@Suite("Archive cache directories")
struct ArchiveCacheTests {
    @Test func copiesOfProcessesThatAreGoneAreRemovedAndLiveOnesKept() throws {
        let temporary = NSTemporaryDirectory() + "archive-cache-test-\(UUID().uuidString)/"
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        // Beyond Linux's largest process id: no such process can run.
        let gone = temporary + ArchiveCache.prefix + "4194305-dead"
        let mine = temporary + ArchiveCache.prefix + "\(getpid())-live"
        let parent = temporary + ArchiveCache.prefix + "\(getppid())-live"
        let unrelated = temporary + "something-else-4194305"
        for directory in [gone, mine, parent, unrelated] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: directory + "/copy.sqlite", contents: Data("x".utf8)))
        }
        ArchiveCache.removeAbandoned(in: temporary)
        #expect(!FileManager.default.fileExists(atPath: gone))
        for kept in [mine, parent, unrelated] { #expect(FileManager.default.fileExists(atPath: kept + "/copy.sqlite"), "\(kept)") }
    }

    @Test func aReleasedCacheTakesItsCopiesWithIt() async throws {
        let root = NSTemporaryDirectory() + "archive-cache-test-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = DirectoryArchiveStore(directory: root + "/store")
        let data = Data("archive".utf8)
        let compressed = try ArchiveCompression.compress(data)
        try await store.put(compressed, name: "a1")
        var cache: ArchiveCache? = ArchiveCache(store: store, directory: root + "/cache")
        let path = try await cache!.open("a1", sha256: ArchiveCompression.sha256(compressed))
        #expect(FileManager.default.contents(atPath: path) == data)
        cache = nil
        #expect(!FileManager.default.fileExists(atPath: root + "/cache"))
    }
}
