import Logging
import PostgresNIO

/// A hot statement that each connection parses and plans once, instead of on every call (for
/// the send path's permission read and insert this was a third of PostgreSQL's CPU per message).
///
/// The text comes from the same query builder as every call's (a sample call with any values),
/// so the SQL is written once; every bind that may be NULL carries an explicit cast, because a
/// statement's parameter types are fixed by its first call.
public protocol PreparedSQL {
    static var name: String { get }
    static var sql: String { get }
}

/// What postgres-nio runs for a `PreparedSQL` with one call's values.
public struct PreparedCall<Statement: PreparedSQL>: PostgresPreparedStatement {
    public typealias Row = PostgresRow
    public static var name: String { Statement.name }
    public static var sql: String { Statement.sql }
    let bindings: PostgresBindings

    public func makeBindings() -> PostgresBindings { bindings }
    public func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

extension SQLExecutor {
    /// Runs `query` as the prepared `statement` when its text is the statement's (it always is
    /// for the builder the statement samples), otherwise as an ordinary query.
    func run<Statement: PreparedSQL>(_ query: PostgresQuery, preparedAs statement: Statement.Type) async throws -> [PostgresRow] {
        guard query.sql == Statement.sql else {
            assertionFailure("\(Statement.name): the query's text is not the prepared statement's")
            return try await run(query)
        }
        return try await runPrepared(PreparedCall<Statement>(bindings: query.binds))
    }
}
