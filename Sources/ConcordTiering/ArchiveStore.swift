import Foundation

/// Where archive files and attachment blobs live. A local directory now (a volume under
/// Docker); an object store would implement the same five calls.
public protocol ArchiveStore: Sendable {
    /// Stores a file under `name`, durably (synced) before returning; replaces nothing.
    func put(_ data: Data, name: String) async throws
    func get(_ name: String) async throws -> Data
    /// Only the bytes in `bytes` (within the file), so a large file is served a piece at a time.
    func get(_ name: String, bytes: ClosedRange<Int>) async throws -> Data
    func delete(_ name: String) async throws
    func list() async throws -> [String]
    func exists(_ name: String) async throws -> Bool
}

/// Attachments' bytes, each named by its SHA-256, in a store of their own.
public typealias BlobStore = ArchiveStore

public struct ArchiveStoreError: Error, CustomStringConvertible {
    public let description: String
}

/// Archive files in a directory: written to a temporary name, fsynced, renamed into place, and
/// the directory fsynced, so a name either holds a whole file or does not exist.
public struct DirectoryArchiveStore: ArchiveStore {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    func path(_ name: String) throws -> String {
        guard !name.contains("/"), !name.hasPrefix(".") else { throw ArchiveStoreError(description: "bad archive name \(name)") }
        return directory + "/" + name
    }

    public func put(_ data: Data, name: String) async throws {
        let final = try path(name)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = directory + "/.incoming-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw ArchiveStoreError(description: "cannot write \(temporary)")
        }
        try Self.sync(temporary)
        guard rename(temporary, final) == 0 else {
            unlink(temporary)
            throw ArchiveStoreError(description: "cannot rename into \(final): errno \(errno)")
        }
        try Self.sync(directory)
    }

    public func get(_ name: String) async throws -> Data {
        let file = try path(name)
        guard let data = FileManager.default.contents(atPath: file) else { throw ArchiveStoreError(description: "archive \(name) is missing") }
        return data
    }

    public func get(_ name: String, bytes: ClosedRange<Int>) async throws -> Data {
        let file = try path(name)
        let fd = open(file, O_RDONLY)
        guard fd >= 0 else { throw ArchiveStoreError(description: "archive \(name) is missing") }
        defer { close(fd) }
        var data = Data(count: bytes.count)
        let read = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress, bytes.count, off_t(bytes.lowerBound)) }
        guard read == bytes.count else { throw ArchiveStoreError(description: "\(name) is shorter than byte \(bytes.upperBound)") }
        return data
    }

    public func delete(_ name: String) async throws {
        let file = try path(name)
        if unlink(file) != 0 && errno != ENOENT { throw ArchiveStoreError(description: "cannot delete \(file): errno \(errno)") }
    }

    public func exists(_ name: String) async throws -> Bool {
        FileManager.default.fileExists(atPath: try path(name))
    }

    public func list() async throws -> [String] {
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix(".") }.sorted()
    }

    static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ArchiveStoreError(description: "cannot open \(path) to sync: errno \(errno)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ArchiveStoreError(description: "fsync \(path): errno \(errno)") }
    }
}
