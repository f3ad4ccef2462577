import ConcordModels
import ConcordStorage
import ConcordTiering
import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing

/// The throwaway servers `make test` starts, found through the environment.
enum TestServers {
    struct NotConfigured: Error, CustomStringConvertible {
        var description: String { "integration tests need the servers `make test` starts (CONCORD_TEST_PG_PORT, CONCORD_TEST_REDIS_PORT)" }
    }

    static var env: [String: String] { ProcessInfo.processInfo.environment }

    static func postgresPort() throws -> Int {
        guard let port = env["CONCORD_TEST_PG_PORT"].flatMap(Int.init) else { throw NotConfigured() }
        return port
    }
    static func redisPort() throws -> Int {
        guard let port = env["CONCORD_TEST_REDIS_PORT"].flatMap(Int.init) else { throw NotConfigured() }
        return port
    }
    static var postgresPassword: String? { env["CONCORD_TEST_PG_PASSWORD"] }
    /// A directory for the files tests make (configs, archives, their own Redis).
    static var scratch: String { env["CONCORD_TEST_SCRATCH"] ?? NSTemporaryDirectory() }

    /// A loopback port free right now, for a server whose public URL must name its port
    /// before it starts (an edge's resume_gateway_url).
    /// A port nothing listens on, below the kernel's ephemeral range (32768+), so the many
    /// outgoing connections of parallel tests cannot take it between now and the bind.
    /// A port is handed out once per process: a test that stops a server of its own (its Redis)
    /// gets the same port back when it starts it again, instead of another test's server there.
    static func freePort() throws -> Int {
        for _ in 0..<100 {
            let candidate = Int.random(in: 12_000...31_999)
            guard handedOut.withLock({ $0.insert(candidate).inserted }) else { continue }
            if try canBind(candidate) { return candidate }
        }
        throw NotConfigured()
    }
    private static let handedOut = Mutex<Set<Int>>([])

    private static func canBind(_ port: Int) throws -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NotConfigured() }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 }
        }
    }

    /// The CA (`ca.pem`, `ca-key.pem`) whose certificate the test PostgreSQL and Redis show for
    /// TLS, and the Redis's TLS port; unset, clusters with internal TLS keep plain connections to both.
    static var tlsDirectory: String? { env["CONCORD_TEST_TLS_DIR"] }
    static var redisTLSPort: Int? { env["CONCORD_TEST_REDIS_TLS_PORT"].flatMap(Int.init) }

    /// The S3-compatible server `make test` starts (moto, checking every signature), if it could.
    static var objectStoreAvailable: Bool { env["CONCORD_TEST_S3_URL"] != nil }

    static func objectStoreKeys() throws -> (access: String, secret: String) {
        guard let access = env["CONCORD_TEST_S3_ACCESS_KEY"], let secret = env["CONCORD_TEST_S3_SECRET_KEY"] else { throw NotConfigured() }
        return (access, secret)
    }

    /// The tests' bucket on that server, made on first use; each caller keeps to its own prefix.
    static func objectStore(prefix: String) async throws -> ClusterConfig.ObjectStore {
        guard let url = env["CONCORD_TEST_S3_URL"] else { throw NotConfigured() }
        let settings = ClusterConfig.ObjectStore(endpoint: url, bucket: "concord-tests", prefix: prefix)
        let keys = try objectStoreKeys()
        try await S3ObjectStore(settings: settings, prefix: "", accessKey: keys.access, secretKey: keys.secret).createBucketIfMissing()
        return settings
    }

    static var migrationsDirectory: String {
        env["CONCORD_MIGRATIONS"] ?? repositoryRoot.appendingPathComponent("migrations").path
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The web client's files, which every test edge serves under /app.
    static var webRoot: String { repositoryRoot.appendingPathComponent("web").path }

    static var logger: Logger {
        var logger = Logger(label: "concord.test")
        logger.logLevel = ProcessInfo.processInfo.environment["CONCORD_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }

    /// The role cells and stores connect as, as in production: it owns its databases and is
    /// no superuser, so a test passing proves the cells need nothing more.
    static let cellRole = "concord_cell"

    static func settings(database: String, user: String = cellRole) throws -> DatabaseSettings {
        DatabaseSettings(host: "127.0.0.1", port: try postgresPort(), database: database, user: user,
                         password: postgresPassword, maxConnections: 10)
    }

    /// The superuser, on the server's own `postgres` database: creates databases, stops them.
    static func adminSettings() throws -> DatabaseSettings { try settings(database: "postgres", user: "postgres") }

    /// Creates the cell role once per test process (several processes may race: the loser's
    /// "already exists" is fine).
    private static let cellRoleReady = Task {
        let admin = Database(settings: try adminSettings(), logger: logger)
        try await withRunning(admin) { db in
            let password = (postgresPassword ?? "").replacingOccurrences(of: "'", with: "''")
            do {
                try await db.run(PostgresQuery(unsafeSQL: "CREATE ROLE \(cellRole) LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '\(password)'"))
            } catch where error.sqlState == "42710" || error.sqlState == "23505" {}
        }
    }

    /// Creates an empty database owned by the cell role, with a unique name; returns its name.
    static func createDatabase() async throws -> String {
        try await cellRoleReady.value
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let admin = Database(settings: try adminSettings(), logger: logger)
        _ = try await withRunning(admin) { db in
            try await db.run(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) OWNER \(cellRole)"))
        }
        return String(name)
    }

    /// A fresh, migrated database, running for the duration of `body`.
    static func withMigratedDatabase<T: Sendable>(_ body: (Database) async throws -> T) async throws -> T {
        let name = try await createDatabase()
        let db = Database(settings: try settings(database: name), logger: logger)
        return try await withRunning(db) { db in
            try await Migrator(directory: migrationsDirectory).migrate(db)
            return try await body(db)
        }
    }

    static func withRunning<T: Sendable>(_ db: Database, _ body: (Database) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await db.run() }
            defer { group.cancelAll() }
            return try await body(db)
        }
    }
}

/// Waits until `condition` holds, polling; fails the test after `timeout`.
func eventually(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool,
                sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
    throw CancellationError()
}
