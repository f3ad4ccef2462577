import Logging
import PostgresNIO
import Synchronization

/// A hot query that each connection parses and plans once, instead of on every call: for the
/// send path's permission read and insert, and READY's queries, planning was most of
/// PostgreSQL's CPU. Only for queries whose text never varies (values are binds, never
/// `unescaped:`), and every bind that may be NULL carries an explicit cast (`\(x)::int8`):
/// a prepared statement's parameter types are fixed by its first call.
struct PreparedQuery: PostgresPreparedStatement {
    typealias Row = PostgresRow

    /// postgres-nio names a prepared statement by its type; one type serves every query here,
    /// so the statement being run is told through the task (postgres-nio reads `name` and `sql`
    /// while `execute` starts, before it first suspends).
    @TaskLocal static var current = Statement(name: "", sql: "")
    static var name: String { current.name }
    static var sql: String { current.sql }

    let bindings: PostgresBindings
    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }

    struct Statement: Sendable {
        var name: String
        var sql: String
    }

    /// One name per distinct text, for the life of the process (the texts are the code's own).
    private static let names = Mutex<[String: String]>([:])

    static func statement(for sql: String) -> Statement {
        names.withLock { names in
            if let name = names[sql] { return Statement(name: name, sql: sql) }
            let name = "concord_\(names.count + 1)"
            names[sql] = name
            return Statement(name: name, sql: sql)
        }
    }
}

extension PostgresConnection {
    /// Runs `query` as a prepared statement on this connection (prepared on its first use here).
    func runPrepared(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await PreparedQuery.$current.withValue(PreparedQuery.statement(for: query.sql)) {
            var rows: [PostgresRow] = []
            for try await row in try await execute(PreparedQuery(bindings: query.binds), logger: logger) { rows.append(row) }
            return rows
        }
    }
}
