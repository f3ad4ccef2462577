import Foundation
import PostgresNIO

/// Operations on a whole database, run from a connection to another one (the server's
/// `postgres` database): for operators and for fault tests.
extension SQLExecutor {
    /// Refuses (and drops) or allows again every connection to `database`: to the cell whose
    /// database it is, PostgreSQL is down, though the server keeps serving the others.
    public func setConnectionsAllowed(database: String, _ allowed: Bool) async throws {
        guard database.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { throw ArchiveError(description: "bad database name") }
        try await run(PostgresQuery(unsafeSQL: "ALTER DATABASE \(database) WITH ALLOW_CONNECTIONS \(allowed)"))
        if !allowed {
            try await run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(database) AND pid <> pg_backend_pid()")
        }
    }
}
