import ConcordModels

/// Where a cell keeps its archive files and attachment blobs: directories by default, an
/// S3-compatible bucket when its tiering names an object store. Every process that reaches a
/// cell's files (the cell, `concordctl tier`, workspace moves) picks them here, so they agree.
public enum CellStores {
    public static func archives(of cell: ClusterConfig.Cell, keys: (access: String, secret: String)?) throws -> any ArchiveStore {
        try store(of: cell, keys: keys, under: "archive/") { DirectoryArchiveStore(directory: cell.archiveDirectory) }
    }

    public static func blobs(of cell: ClusterConfig.Cell, keys: (access: String, secret: String)?) throws -> any BlobStore {
        try store(of: cell, keys: keys, under: "blobs/") { DirectoryArchiveStore(directory: cell.blobDirectory) }
    }

    static func store(of cell: ClusterConfig.Cell, keys: (access: String, secret: String)?, under folder: String,
                      directory: () -> DirectoryArchiveStore) throws -> any ArchiveStore {
        guard let settings = cell.tiering?.object_store else { return directory() }
        guard let keys else {
            throw ArchiveStoreError(description: "cell \(cell.name) keeps its files in an object store: set CONCORD_S3_ACCESS_KEY and CONCORD_S3_SECRET_KEY")
        }
        return try S3ObjectStore(settings: settings, prefix: (settings.prefix ?? cell.name + "/") + folder,
                                 accessKey: keys.access, secretKey: keys.secret)
    }
}
