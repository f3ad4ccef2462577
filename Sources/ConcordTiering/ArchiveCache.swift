import ConcordStorage
import Foundation

/// Recently opened archives, decompressed into a local directory: the first read of a file
/// fetches it from the store, checks its checksum and decompresses it; later reads open the
/// local copy. At most `capacity` copies are kept, the least recently used going first.
public actor ArchiveCache {
    let store: any ArchiveStore
    let directory: String
    let capacity: Int
    private var lastUse: [String: UInt64] = [:]
    private var clock: UInt64 = 0
    private var loading: [String: Task<String, any Error>] = [:]

    /// `directory` belongs to this cache alone (copies left in it by an earlier process are
    /// removed: they were checked by that process, not this one).
    public init(store: any ArchiveStore, directory: String, capacity: Int = 64) {
        self.store = store
        self.directory = directory
        self.capacity = capacity
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A cache in a directory of this process's own under the system's temporary directory;
    /// those of processes that are gone (killed, crashed) are removed first, since nothing else would.
    public init(store: any ArchiveStore, capacity: Int = 64) {
        let temporary = NSTemporaryDirectory()
        Self.removeAbandoned(in: temporary)
        self.init(store: store, directory: temporary + Self.prefix + "\(getpid())-\(UUID().uuidString.prefix(8))", capacity: capacity)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    static let prefix = "concord-archive-cache-"

    /// Removes the caches in `temporary` whose process no longer runs.
    static func removeAbandoned(in temporary: String) {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] where entry.hasPrefix(prefix) {
            guard let pid = entry.dropFirst(prefix.count).split(separator: "-").first.flatMap({ pid_t($0) }), pid != getpid(),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: (temporary as NSString).appendingPathComponent(entry))
        }
    }

    /// The local path of a verified, decompressed copy of the archive `name`. Concurrent first
    /// opens of one file share one fetch.
    public func open(_ name: String, sha256: String) async throws -> String {
        clock += 1
        if lastUse[name] != nil {
            lastUse[name] = clock
            return localPath(name)
        }
        if let pending = loading[name] { return try await pending.value }
        let task = Task { [store, directory] in
            let data = try await store.get(name)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            guard ArchiveCompression.sha256(data) == sha256 else {
                throw ArchiveStoreError(description: "archive \(name) does not match its checksum")
            }
            let target = directory + "/" + name + ".sqlite"
            let temporary = target + ".part"
            guard FileManager.default.createFile(atPath: temporary, contents: try ArchiveCompression.decompress(data)),
                  rename(temporary, target) == 0 else {
                throw ArchiveStoreError(description: "cannot unpack \(name) into \(directory)")
            }
            return target
        }
        loading[name] = task
        defer { loading[name] = nil }
        let path = try await task.value
        lastUse[name] = clock
        evict()
        return path
    }

    /// Forgets a copy (its file was rewritten or restored).
    public func drop(_ name: String) {
        lastUse[name] = nil
        try? FileManager.default.removeItem(atPath: localPath(name))
    }

    func localPath(_ name: String) -> String { directory + "/" + name + ".sqlite" }

    private func evict() {
        while lastUse.count > capacity, let oldest = lastUse.min(by: { $0.value < $1.value })?.key {
            drop(oldest)
        }
    }
}
