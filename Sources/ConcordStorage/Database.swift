import Logging
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

    public init(host: String, port: Int, database: String, user: String, password: String?, maxConnections: Int = 20) {
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
}

/// A cell's PostgreSQL shard: a connection pool plus what the stores share.
public final class Database: SQLExecutor {
    public let client: PostgresClient
    let logger: Logger
    let partitions = Mutex<Set<Int>>([])

    public init(settings: DatabaseSettings, logger: Logger = Logger(label: "concord.storage")) {
        var config = PostgresClient.Configuration(host: settings.host, port: settings.port, username: settings.user,
                                                  password: settings.password, database: settings.database, tls: .disable)
        config.options.maximumConnections = settings.maxConnections
        config.options.minimumConnections = 0
        client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.logger = logger
    }

    /// Runs the pool; must be running (e.g. in the process's service group) for queries to go through.
    public func run() async {
        await client.run()
    }

    @discardableResult
    public func run(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await client.query(query, logger: logger).collect()
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    public func transaction<T: Sendable>(_ body: (Transaction) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in
                try await body(Transaction(connection: connection, logger: logger))
            }
        } catch let error as PostgresTransactionError {
            // Surface the closure's own error (e.g. an APIError), not the wrapper.
            if let closureError = error.closureError { throw closureError }
            throw error
        }
    }
}

/// One connection inside an open transaction.
public struct Transaction: SQLExecutor {
    let connection: PostgresConnection
    let logger: Logger

    @discardableResult
    public func run(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await connection.query(query, logger: logger).collect()
    }
}

extension Error {
    /// PostgreSQL's SQLSTATE for a server-side error (e.g. "23505" unique violation).
    public var sqlState: String? {
        (self as? PSQLError)?.serverInfo?[.sqlState]
    }
}
