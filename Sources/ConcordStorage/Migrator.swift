import Foundation
import Logging
import PostgresNIO

/// Applies the numbered SQL files of `migrations/` in order, each in its own transaction,
/// recording each in `schema_migrations`; applied ones are skipped, so running it again is safe.
public struct Migrator: Sendable {
    public struct Migration: Sendable, Equatable {
        public var version: Int
        public var name: String
        public var sql: String
    }

    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// The repository's `migrations/` folder, found from the environment or the working directory.
    public static func defaultDirectory() -> String {
        ProcessInfo.processInfo.environment["CONCORD_MIGRATIONS"] ?? "migrations"
    }

    public func migrations() throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sql") }.sorted()
        var seen = Set<Int>()
        return try files.map { file in
            guard let version = Int(file.prefix(while: \.isNumber)) else {
                throw MigrationError(description: "migration file \(file) does not start with its number")
            }
            guard seen.insert(version).inserted else { throw MigrationError(description: "two migrations numbered \(version)") }
            let sql = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            return Migration(version: version, name: String(file.dropLast(4)), sql: sql)
        }
    }

    /// Applies what is missing and returns the names applied now; `progress` hears of each
    /// migration as it is looked at (its index among all, their count, its name).
    @discardableResult
    public func migrate(_ db: Database, progress: (Int, Int, String) -> Void = { _, _, _ in }) async throws -> [String] {
        let all = try migrations()
        try await db.run("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        var applied: [String] = []
        for (index, migration) in all.enumerated() {
            progress(index, all.count, migration.name)
            let done = try await db.transaction { tx -> Bool in
                // One migrator at a time per database, even across processes.
                try await tx.run("SELECT pg_advisory_xact_lock(7362001)")
                let rows = try await tx.run("SELECT 1 FROM schema_migrations WHERE version = \(migration.version)")
                if !rows.isEmpty { return false }
                for statement in SQLScript.statements(in: migration.sql) {
                    try await tx.run(PostgresQuery(unsafeSQL: statement))
                }
                try await tx.run("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))")
                return true
            }
            if done { applied.append(migration.name) }
        }
        return applied
    }

    /// Versions recorded as applied.
    public static func appliedVersions(_ db: Database) async throws -> [Int] {
        try await db.run("SELECT version FROM schema_migrations ORDER BY version").map { try $0.decode(Int.self) }
    }
}

struct MigrationError: Error, CustomStringConvertible {
    let description: String
}
