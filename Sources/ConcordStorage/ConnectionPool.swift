import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// A cell's PostgreSQL connections: at most `maximum`, each opened when a lease finds none idle,
/// lent newest-returned first, and closed after `idleLimit` unused.
///
/// Not postgres-nio's `PostgresClient`: its pool (1.33) arms a timer (a sleeping task, so a
/// Dispatch timer and a wake of Dispatch's threads) each time a connection above its minimum
/// goes idle, that is on every statement; with a minimum it trapped on its own precondition
/// while replacing a closing connection; and it could lose a lease made while the server
/// refused connections (never answered, failed nor cancelled). Here a lease that finds an idle
/// connection takes one lock and nothing else; only a lease that has to wait arms a timer (its
/// deadline), and idle connections are looked over by one sweep every few seconds.
final class ConnectionPool: Sendable {
    let maximum: Int
    private let configuration: Result<PostgresConnection.Configuration, any Error>
    private let logger: Logger
    private let state = Mutex(State())
    private let connectionIDs = Atomic<Int>(0)

    /// How long a connection may stay idle before it is closed: well inside what NATs and load
    /// balancers allow before they drop a quiet connection silently (no keep-alive is sent).
    static let idleLimit: Duration = .seconds(60)
    static let sweepInterval: Duration = .seconds(5)

    private struct State {
        /// Idle connections, the longest idle first (lent from the end).
        var idle: [(connection: PostgresConnection, since: ContinuousClock.Instant)] = []
        /// Connections open or being opened, lent or idle: never more than `maximum`.
        var open = 0
        /// Leases waiting for a connection, the first come first served.
        var waiters: [Waiter] = []
        var nextWaiter = 0
        var closed = false

        /// An idle connection the server has not ended; the ended ones are let go.
        mutating func takeIdle() -> PostgresConnection? {
            while let (connection, _) = idle.popLast() {
                if !connection.isClosed { return connection }
                open -= 1
            }
            return nil
        }
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<PostgresConnection, any Error>
        var deadline: Scheduled<Void>?
    }

    init(settings: DatabaseSettings, logger: Logger) {
        maximum = max(1, settings.maxConnections)
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

    /// A connection for the caller, who gives it back (`giveBack`) when done: an idle one, a new
    /// one while fewer than `maximum` are open, or the first given back, within `deadline`
    /// (else `LeaseTimeout`).
    func lease(deadline: Duration) async throws -> PostgresConnection {
        enum Step { case lent(PostgresConnection), open, wait, closed }
        let step = state.withLock { s -> Step in
            if s.closed { return .closed }
            if let connection = s.takeIdle() { return .lent(connection) }
            guard s.open < maximum else { return .wait }
            s.open += 1
            return .open
        }
        switch step {
        case .lent(let connection): return connection
        case .closed: throw PoolClosed()
        case .open:
            do {
                return try await connect()
            } catch {
                opened(failing: error)
                throw error
            }
        case .wait: return try await wait(deadline: deadline)
        }
    }

    /// Takes back a lent connection: to the first waiting lease, else idle (a connection the
    /// server ended, or one given back after the pool closed, is let go).
    func giveBack(_ connection: PostgresConnection) {
        enum Step { case handOver(Waiter), idle, letGo }
        let step = state.withLock { s -> Step in
            guard !connection.isClosed, !s.closed else {
                s.open -= 1
                return .letGo
            }
            if !s.waiters.isEmpty { return .handOver(s.waiters.removeFirst()) }
            s.idle.append((connection, .now))
            return .idle
        }
        switch step {
        case .handOver(let waiter):
            waiter.deadline?.cancel()
            waiter.continuation.resume(returning: connection)
        case .idle: break
        case .letGo:
            Self.letGo(connection)
            openForWaiter()
        }
    }

    /// Closes idle connections past `idleLimit` every `sweepInterval` until cancelled; then
    /// closes the pool: every connection as it comes back, and no more leases.
    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.sweepInterval)
            let stale = state.withLock { s -> [PostgresConnection] in
                let cutoff = ContinuousClock.now - Self.idleLimit
                let count = s.idle.prefix(while: { $0.since < cutoff }).count
                defer { s.idle.removeFirst(count); s.open -= count }
                return s.idle.prefix(count).map(\.connection)
            }
            for connection in stale { Self.letGo(connection) }
        }
        let (idle, waiters) = state.withLock { s in
            s.closed = true
            defer { s.open -= s.idle.count; s.idle = []; s.waiters = [] }
            return (s.idle.map(\.connection), s.waiters)
        }
        for waiter in waiters {
            waiter.deadline?.cancel()
            waiter.continuation.resume(throwing: PoolClosed())
        }
        for connection in idle { Self.letGo(connection) }
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

    /// A connection that was being opened failed to: it no longer counts, and a waiting lease
    /// gets another try.
    private func opened(failing error: any Error) {
        state.withLock { $0.open -= 1 }
        openForWaiter()
    }

    /// While leases wait and fewer than `maximum` connections are open (one was let go, or
    /// failed to open), opens one for the first of them; if that fails, the first waiting
    /// lease fails with its error, as it would have had it opened the connection itself (so no
    /// lease waits out its deadline while the server refuses connections).
    private func openForWaiter() {
        let opening = state.withLock { s in
            guard !s.closed, !s.waiters.isEmpty, s.open < maximum else { return false }
            s.open += 1
            return true
        }
        guard opening else { return }
        Task {
            do {
                giveBack(try await connect())
            } catch {
                let waiter = state.withLock { s in
                    s.open -= 1
                    return s.waiters.isEmpty ? nil : s.waiters.removeFirst()
                }
                waiter?.deadline?.cancel()
                waiter?.continuation.resume(throwing: error)
                openForWaiter()
            }
        }
    }

    private func wait(deadline: Duration) async throws -> PostgresConnection {
        let id = state.withLock { s in
            defer { s.nextWaiter += 1 }
            return s.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                enum Step { case lent(PostgresConnection), open, failed(any Error), waiting }
                let step = state.withLock { s -> Step in
                    // Looked at again: a connection may have come back since the first look.
                    if s.closed { return .failed(PoolClosed()) }
                    // The cancellation handler runs after the task is marked cancelled: either
                    // that is seen here, or the handler finds this waiter in the list.
                    if Task.isCancelled { return .failed(CancellationError()) }
                    if let connection = s.takeIdle() { return .lent(connection) }
                    if s.open < maximum {
                        s.open += 1
                        return .open
                    }
                    var waiter = Waiter(id: id, continuation: continuation)
                    waiter.deadline = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: TimeAmount(deadline)) { [self] in
                        stopWaiting(id, with: LeaseTimeout())
                    }
                    s.waiters.append(waiter)
                    return .waiting
                }
                switch step {
                case .lent(let connection): continuation.resume(returning: connection)
                case .failed(let error): continuation.resume(throwing: error)
                case .waiting: break
                case .open:
                    Task {
                        do {
                            continuation.resume(returning: try await connect())
                        } catch {
                            opened(failing: error)
                            continuation.resume(throwing: error)
                        }
                    }
                }
            }
        } onCancel: {
            stopWaiting(id, with: CancellationError())
        }
    }

    /// Ends a lease's wait (its deadline passed, or its task was cancelled), if it still waits.
    private func stopWaiting(_ id: Int, with error: any Error) {
        let waiter = state.withLock { s -> Waiter? in
            guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: index)
        }
        waiter?.deadline?.cancel()
        waiter?.continuation.resume(throwing: error)
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
