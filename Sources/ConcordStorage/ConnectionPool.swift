import ConcordModels
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// A cell's PostgreSQL connections: at most `maximum`, each opened when a lease finds none idle,
/// lent newest-returned first, and closed after `idleLimit` unused (see `ConnectionPlaces`).
///
/// Not postgres-nio's `PostgresClient`: its pool (1.33) arms a timer (a sleeping task, so a
/// Dispatch timer and a wake of Dispatch's threads) each time a connection above its minimum
/// goes idle, that is on every statement; with a minimum it trapped on its own precondition
/// while replacing a closing connection; and it could lose a lease made while the server
/// refused connections (never answered, failed nor cancelled). Here a lease that finds an idle
/// connection takes one lock and nothing else; only a lease that has to wait arms a timer (its
/// deadline), and idle connections are looked over by one sweep every few seconds.
final class ConnectionPool: Sendable {
    private typealias Places = ConnectionPlaces<PostgresConnection, CheckedContinuation<ConnectionGrant<PostgresConnection>, any Error>>
    private struct State {
        var places: Places
        var closed = false
    }
    private let state: Mutex<State>
    private let configuration: Result<PostgresConnection.Configuration, any Error>
    private let logger: Logger
    private let connectionIDs = Atomic<Int>(0)
    /// Ids of leases that may wait, counted outside the lock: a lease granted at once takes it once.
    private let waiterIDs = Atomic<Int>(0)

    /// How long a connection may stay idle before it is closed: well inside what NATs and load
    /// balancers allow before they drop a quiet connection silently (no keep-alive is sent).
    static let idleLimit: Duration = .seconds(60)
    static let sweepInterval: Duration = .seconds(5)

    let maximum: Int

    init(settings: DatabaseSettings, logger: Logger) {
        let places = Places(maximum: settings.maxConnections)
        maximum = places.maximum
        state = Mutex(State(places: places))
        self.logger = logger
        configuration = Result {
            var config = PostgresConnection.Configuration(host: settings.host, port: settings.port, username: settings.user,
                                                          password: settings.password, database: settings.database,
                                                          tls: try settings.tls.map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable)
            // Every query here is a short OLTP statement; a few (the outbox sequencer's numbering,
            // over a large table) are estimated above PostgreSQL's JIT threshold and were compiled
            // by LLVM on every call: a fifth of the database's CPU on the send path, for nothing.
            config.options.additionalStartupParameters = [("jit", "off")]
            return config
        }
    }

    /// A connection for the caller, who gives it back (`giveBack`) when done: an idle one (one
    /// on the caller's event loop first), a new one while a place is free, or the first given
    /// back, within `deadline` (else `LeaseTimeout`). A connection that fails to open fails the
    /// lease that opened it.
    func lease(deadline: Duration) async throws -> PostgresConnection {
        switch try await place(deadline: deadline) {
        case .idle(let connection):
            return connection
        case .open:
            do {
                return try await connect()
            } catch {
                freePlace()
                throw error
            }
        }
    }

    /// Takes back a lent connection: to the first waiting lease, else idle. One the server
    /// ended, or given back after the pool closed, is closed and its place freed.
    func giveBack(_ connection: PostgresConnection) {
        let handed = state.withLock { s -> (CheckedContinuation<ConnectionGrant<PostgresConnection>, any Error>, ConnectionGrant<PostgresConnection>)?? in
            guard !connection.isClosed, !s.closed else { return .none }
            return .some(s.places.giveBack(connection))
        }
        guard let handed else {
            Self.letGo(connection)
            return freePlace()
        }
        if let (waiter, grant) = handed { waiter.resume(returning: grant) }
    }

    /// Closes idle connections past `idleLimit` every `sweepInterval` until cancelled; then
    /// closes the pool: every connection as it comes back, and no more leases.
    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.sweepInterval)
            let stale = state.withLock { $0.places.takeIdle(since: .now - Self.idleLimit) }
            for connection in stale { Self.letGo(connection) }
        }
        let (idle, waiters) = state.withLock { s in
            s.closed = true
            return s.places.shutDown()
        }
        for waiter in waiters { waiter.resume(throwing: PoolClosed()) }
        for connection in idle { Self.letGo(connection) }
    }

    /// A place in the pool: at once, or the first freed while this waits.
    private func place(deadline: Duration) async throws -> ConnectionGrant<PostgresConnection> {
        let id = waiterIDs.add(1, ordering: .relaxed).newValue
        // Set only for a lease that has to wait: one granted at once schedules nothing.
        var expiry: Scheduled<Void>?
        defer { expiry?.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let granted = state.withLock { s -> Result<ConnectionGrant<PostgresConnection>, any Error>? in
                    guard !s.closed else { return .failure(PoolClosed()) }
                    // The cancellation handler runs after the task is marked cancelled: either
                    // that is seen here, or the handler finds this lease waiting.
                    guard !Task.isCancelled else { return .failure(CancellationError()) }
                    if let grant = s.places.grant(alive: { !$0.isClosed }, preferred: { $0.eventLoop.inEventLoop }) { return .success(grant) }
                    s.places.wait(continuation, id: id)
                    return nil
                }
                if let granted { return continuation.resume(with: granted) }
                expiry = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: TimeAmount(deadline)) { [self] in
                    stopWaiting(id, with: LeaseTimeout())
                }
            }
        } onCancel: {
            stopWaiting(id, with: CancellationError())
        }
    }

    /// Ends a lease's wait (its deadline passed, or its task was cancelled), if it still waits.
    private func stopWaiting(_ id: Int, with error: any Error) {
        state.withLock { $0.places.stopWaiting(id) }?.resume(throwing: error)
    }

    /// A place freed: leave to open a connection for the first waiting lease, if any.
    private func freePlace() {
        state.withLock { $0.places.freePlace() }?.resume(returning: .open)
    }

    /// Closes a connection, held until it has closed (postgres-nio asserts that a connection is
    /// closed before it goes, and closing takes a turn of its event loop).
    private static func letGo(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        closing.whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    private func connect() async throws -> PostgresConnection {
        let id = connectionIDs.add(1, ordering: .relaxed).newValue
        var logger = self.logger
        logger[metadataKey: "db.connection"] = "\(id)"
        return try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: try configuration.get(),
                                                    id: id, logger: logger)
    }
}

/// The pool did not hand out a connection in time.
public struct LeaseTimeout: Error, CustomStringConvertible {
    public var description: String { "no database connection became available in time" }
}

/// A lease was asked of a pool that has closed (its process is stopping).
public struct PoolClosed: Error, CustomStringConvertible {
    public var description: String { "the database connection pool has closed" }
}
