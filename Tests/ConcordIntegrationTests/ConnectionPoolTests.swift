@testable import ConcordStorage
import Foundation
import PostgresNIO
import Testing

/// The cells' own PostgreSQL connection pool, against a real server.
@Suite("ConnectionPool")
struct ConnectionPoolTests {
    /// A database of its own, with a pool of at most `maximum` connections, running for `body`.
    func withPool<T: Sendable>(maximum: Int, _ body: (Database) async throws -> T) async throws -> T {
        var settings = try TestServers.settings(database: try await TestServers.createDatabase())
        settings.maxConnections = maximum
        return try await TestServers.withRunning(Database(settings: settings, logger: TestServers.logger), body)
    }

    /// The server processes serving the database `name` (one per open connection).
    func backends(of name: String) async throws -> Int {
        try await TestServers.withRunning(Database(settings: try TestServers.adminSettings(), logger: TestServers.logger)) { admin in
            try #require(try await admin.run("SELECT count(*)::int FROM pg_stat_activity WHERE datname = \(name)").first).decode(Int.self)
        }
    }

    /// A lease the pool cannot give before its deadline (its one connection is held) fails with
    /// `LeaseTimeout` rather than waits on; once the connection is back, the next lease gets it.
    @Test func aLeaseThePoolCannotGiveInTimeFails() async throws {
        var settings = try TestServers.settings(database: try await TestServers.createDatabase())
        settings.maxConnections = 1
        try await TestServers.withRunning(Database(settings: settings, logger: TestServers.logger)) { db in
            try await db.withConnection { _ in
                await #expect(throws: LeaseTimeout.self) {
                    try await db.withConnection(deadline: .milliseconds(200)) { _ in }
                }
            }
            let rows = try await db.withConnection { connection in
                try await connection.query("SELECT 1", logger: TestServers.logger).collect().count
            }
            #expect(rows == 1)
        }
    }

    /// Without keep-alive queries, a pooled connection the server ends while idle is still seen
    /// closing, and the next statement gets a new one.
    @Test func anIdleConnectionTheServerEndsIsReplaced() async throws {
        var settings = try TestServers.settings(database: try await TestServers.createDatabase())
        settings.maxConnections = 1
        try await TestServers.withRunning(Database(settings: settings, logger: TestServers.logger)) { db in
            let first = try #require(try await db.run("SELECT pg_backend_pid()").first).decode(Int32.self)
            try await TestServers.withRunning(Database(settings: try TestServers.adminSettings(), logger: TestServers.logger)) { admin in
                let ended = try await admin.run("SELECT pg_terminate_backend(\(first))").first?.decode(Bool.self)
                #expect(ended == true)
            }
            var second: Int32?
            try await eventually("a statement runs on a new connection") {
                second = try? await db.run("SELECT pg_backend_pid()").first?.decode(Int32.self)
                return second != nil
            }
            #expect(second != first)
        }
    }

    /// Statements one after another run on one connection, kept open between them (no new
    /// connection, no reconnect); statements at once never open more than the maximum.
    @Test func connectionsAreReusedAndBounded() async throws {
        try await withPool(maximum: 3) { db in
            var pids: Set<Int32> = []
            for _ in 0..<20 { pids.insert(try #require(try await db.run("SELECT pg_backend_pid()").first).decode(Int32.self)) }
            #expect(pids.count == 1)
            let together = try await withThrowingTaskGroup(of: Int32.self) { group in
                for _ in 0..<24 {
                    group.addTask { try #require(try await db.run("SELECT pg_backend_pid() FROM pg_sleep(0.05)").first).decode(Int32.self) }
                }
                return try await group.reduce(into: Set<Int32>()) { $0.insert($1) }
            }
            #expect(together.count > 1 && together.count <= 3, "24 statements at once on \(together.count) connections")
            let name = try #require(try await db.run("SELECT current_database()").first).decode(String.self)
            #expect(try await backends(of: name) <= 3)
        }
    }

    /// A lease waiting on a full pool gets the connection once it is given back, not before.
    @Test func aWaitingLeaseGetsTheConnectionGivenBack() async throws {
        try await withPool(maximum: 1) { db in
            let (pid, waiting, givenBack) = try await db.withConnection { connection in
                let pid = try #require(try await connection.query("SELECT pg_backend_pid()", logger: TestServers.logger).collect().first).decode(Int32.self)
                let waiting = (1...3).map { _ in
                    Task {
                        try await db.withConnection { connection in
                            let got = ContinuousClock.now
                            let pid = try #require(try await connection.query("SELECT pg_backend_pid()", logger: TestServers.logger).collect().first)
                                .decode(Int32.self)
                            return (pid, got)
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(200))
                return (pid, waiting, ContinuousClock.now)
            }
            for lease in waiting {
                let (leasedPID, got) = try await lease.value
                #expect(leasedPID == pid, "the one connection, kept open")
                #expect(got >= givenBack, "nobody gets a connection still held")
            }
        }
    }

    /// A lease whose task is cancelled while it waits stops waiting, and the pool goes on lending.
    @Test func aCancelledWaitingLeaseStopsWaiting() async throws {
        try await withPool(maximum: 1) { db in
            try await db.withConnection { _ in
                let waiting = Task { try await db.withConnection { _ in } }
                try await Task.sleep(for: .milliseconds(100))
                waiting.cancel()
                await #expect(throws: CancellationError.self) { try await waiting.value }
            }
            #expect(try await db.run("SELECT 1").count == 1)
        }
    }

    /// While the server refuses connections, a lease fails with the server's error instead of
    /// waiting, and so does one that was waiting for a connection that is then let go; once the
    /// server takes connections again, so does the pool.
    @Test func aRefusedConnectionFailsTheLeaseWaitingForIt() async throws {
        let name = try await TestServers.createDatabase()
        var settings = try TestServers.settings(database: name)
        settings.maxConnections = 1
        try await TestServers.withRunning(Database(settings: settings, logger: TestServers.logger)) { db in
            try await TestServers.withRunning(Database(settings: try TestServers.adminSettings(), logger: TestServers.logger)) { admin in
                let waiting = try await db.withConnection { connection in
                    try await admin.run(PostgresQuery(unsafeSQL: "ALTER DATABASE \(name) WITH ALLOW_CONNECTIONS false"))
                    // Ended by the server while lent: given back, it is let go, and the lease
                    // waiting for it gets a new one opened, which the server refuses.
                    let waiting = Task { try await db.withConnection(deadline: .seconds(20)) { _ in } }
                    try await Task.sleep(for: .milliseconds(100))
                    let pid = try #require(try await connection.query("SELECT pg_backend_pid()", logger: TestServers.logger).collect().first)
                        .decode(Int32.self)
                    _ = try await admin.run("SELECT pg_terminate_backend(\(pid))")
                    try await eventually("the connection closes") { connection.isClosed }
                    return waiting
                }
                let started = ContinuousClock.now
                await #expect(throws: PSQLError.self) { try await waiting.value }
                #expect(ContinuousClock.now - started < .seconds(10), "failed, not timed out")
                await #expect(throws: PSQLError.self) { try await db.run("SELECT 1") }
                try await admin.run(PostgresQuery(unsafeSQL: "ALTER DATABASE \(name) WITH ALLOW_CONNECTIONS true"))
            }
            #expect(try await db.run("SELECT 1").count == 1)
        }
    }

    /// When its process stops (`run` cancelled), the pool closes its connections and lends no more.
    @Test func aStoppedPoolClosesItsConnections() async throws {
        let name = try await TestServers.createDatabase()
        let db = Database(settings: try TestServers.settings(database: name), logger: TestServers.logger)
        try await TestServers.withRunning(db) { db in
            _ = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 { group.addTask { try await db.run("SELECT pg_sleep(0.05)").count } }
                return try await group.reduce(0, +)
            }
            #expect(try await backends(of: name) > 0)
        }
        await #expect(throws: PoolClosed.self) { try await db.run("SELECT 1") }
        try await eventually("the pool's connections close") { try await backends(of: name) == 0 }
    }
}
