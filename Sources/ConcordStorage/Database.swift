import ConcordModels
import Logging
import NIOSSL
import PostgresNIO
import Synchronization

/// Where a cell's PostgreSQL is and how many connections the cell may hold.
public struct DatabaseSettings: Sendable {
    public var host: String
    public var port: Int
    public var database: String
    public var user: String
    public var password: String?
    public var maxConnections: Int
    /// Where set, every connection is TLS (refused if the server will not).
    public var tls: TLSConfiguration?

    public init(host: String, port: Int, database: String, user: String, password: String?, maxConnections: Int = 20,
                tls: TLSConfiguration? = nil) {
        self.tls = tls
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
        self.maxConnections = maxConnections
    }
}

/// Runs SQL: the pool in autocommit mode, or one connection inside a transaction. Every
/// store function is written against this, so it composes into transactions.
public protocol SQLExecutor: Sendable {
    @discardableResult
    func run(_ query: PostgresQuery) async throws -> [PostgresRow]
    /// Runs `query` as a prepared statement (see `PreparedQuery` for which queries may be).
    @discardableResult
    func run(prepared query: PostgresQuery) async throws -> [PostgresRow]
}

/// What the pool reports as it works, for the process's metrics (storage knows no metrics library).
public protocol DatabaseObserver: Sendable {
    /// A connection was handed out after `waited`; `inUse` are now held.
    func leased(waited: Duration, inUse: Int, of maximum: Int)
    func returned(inUse: Int)
    func statement(took: Duration, failed: Bool)
}

/// A cell's PostgreSQL shard: a connection pool plus what the stores share.
public final class Database: SQLExecutor {
    let pool: ConnectionPool
    let logger: Logger
    let partitions = Mutex<Set<Int>>([])
    let observer: (any DatabaseObserver)?
    private let inUse = Atomic<Int>(0)

    public init(settings: DatabaseSettings, logger: Logger = Logger(label: "concord.storage"), observer: (any DatabaseObserver)? = nil) {
        self.observer = observer
        pool = ConnectionPool(settings: settings, logger: logger)
        self.logger = logger
    }

    /// Whether the connection a query gets is TLS (PostgreSQL's own view of it).
    public func connectionIsEncrypted() async throws -> Bool {
        try await run("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first?.decode(Bool.self) ?? false
    }

    /// Runs the pool (closes connections left idle) until cancelled, then closes it: runs in
    /// the process's service group.
    public func run() async {
        await pool.run()
    }

    @discardableResult
    public func run(_ query: PostgresQuery) async throws -> [PostgresRow] {
        // Checked like a transaction's statements (see `transaction`): the pool may hand out a
        // connection the server has just ended.
        try await withConnection { connection in
            try await Transaction(connection: connection, logger: logger, observer: observer).run(query)
        }
    }

    @discardableResult
    public func run(prepared query: PostgresQuery) async throws -> [PostgresRow] {
        try await withConnection { connection in
            try await Transaction(connection: connection, logger: logger, observer: observer).run(prepared: query)
        }
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    ///
    /// Not postgres-nio's `withTransaction`: a query written to a connection that has already
    /// closed is never answered (its write fails with no one told), and after the server ends a
    /// connection mid-transaction (a restart, `pg_terminate_backend`) that is exactly where the
    /// ROLLBACK would go, leaving the caller (a request, the outbox sequencer) waiting forever.
    /// So no statement is sent on a closed connection, and the ROLLBACK gets a deadline.
    public func transaction<T: Sendable>(_ body: (Transaction) async throws -> T) async throws -> T {
        try await withConnection { connection in
            let tx = Transaction(connection: connection, logger: logger, observer: observer)
            try await tx.run("BEGIN")
            let value: T
            do {
                value = try await body(tx)
            } catch {
                await rollback(connection)
                throw error
            }
            try await tx.run("COMMIT")
            return value
        }
    }

    /// A pooled connection for `body`, or `LeaseTimeout` after `deadline` (30 s: as long as the
    /// edges' and relays' own timeouts, so only a lease that would never come fails).
    @discardableResult
    func withConnection<T>(deadline: Duration = .seconds(30), _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let asked = ContinuousClock.now
        let connection = try await pool.lease(deadline: deadline)
        defer { pool.giveBack(connection) }
        observer?.leased(waited: ContinuousClock.now - asked, inUse: inUse.add(1, ordering: .relaxed).newValue, of: pool.maximum)
        defer { observer?.returned(inUse: inUse.subtract(1, ordering: .relaxed).newValue) }
        return try await body(connection)
    }

    private func rollback(_ connection: PostgresConnection) async {
        guard !connection.isClosed else { return }
        let logger = self.logger
        _ = await withDeadline(.seconds(10)) { _ = try? await connection.query("ROLLBACK", logger: logger).collect() }
    }
}

/// A statement was not sent: its transaction's connection had closed (the server ended it).
public struct ConnectionClosed: Error, CustomStringConvertible {
    public var description: String { "the database connection closed" }
}

/// One connection inside an open transaction.
public struct Transaction: SQLExecutor {
    let connection: PostgresConnection
    let logger: Logger
    var observer: (any DatabaseObserver)? = nil

    @discardableResult
    public func run(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await observed { try await connection.query(query, logger: logger).collect() }
    }

    @discardableResult
    public func run(prepared query: PostgresQuery) async throws -> [PostgresRow] {
        try await observed { try await connection.runPrepared(query, logger: logger) }
    }

    private func observed(_ statement: () async throws -> [PostgresRow]) async throws -> [PostgresRow] {
        // See `Database.transaction`: a statement sent on a closed connection is never answered.
        guard !connection.isClosed else { throw ConnectionClosed() }
        let started = ContinuousClock.now
        do {
            let rows = try await statement()
            observer?.statement(took: ContinuousClock.now - started, failed: false)
            return rows
        } catch {
            observer?.statement(took: ContinuousClock.now - started, failed: true)
            throw error
        }
    }
}

extension Error {
    /// PostgreSQL's SQLSTATE for a server-side error (e.g. "23505" unique violation).
    public var sqlState: String? {
        (self as? PSQLError)?.serverInfo?[.sqlState]
    }
}
