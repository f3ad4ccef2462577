import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// Hands a pooled connection from the task that leased it to a caller that may stop waiting.
///
/// postgres-nio's pool (1.33) can lose a lease request made while the server refuses
/// connections (seen after `pg_terminate_backend` with connections refused for a moment): the
/// request is never answered, nor failed, nor cancelled, although later requests are served. A
/// caller blocked on it would hang forever (and keep its process from shutting down), so the
/// lease is taken by a helper task and the caller gives up after a deadline; a lease that
/// arrives after that goes straight back to the pool.
final class LeaseHandoff: Sendable {
    private struct State {
        var connection: PostgresConnection?
        var failure: (any Error)?
        var caller: CheckedContinuation<PostgresConnection, any Error>?
        var gaveUp = false
        var returned = false
        var holder: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    /// Leases a connection for `body`, waiting at most `deadline` for the pool.
    static func withConnection<T>(_ client: PostgresClient, deadline: Duration,
                                  _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let handoff = LeaseHandoff()
        Task {
            do {
                try await client.withConnection { connection in
                    guard handoff.offer(connection) else { return }
                    await handoff.waitUntilReturned()
                }
            } catch {
                handoff.fail(error)
            }
        }
        // An event loop's timer, not a sleeping task: `Task.sleep` is a Dispatch timer, which wakes
        // Dispatch's manager thread to arm it and again when it fires (30 s later, cancelled or
        // not), holding the task until then; leases are made thousands of times a second.
        let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: TimeAmount(deadline)) { handoff.giveUp() }
        let connection: PostgresConnection
        do {
            connection = try await handoff.take()
            timer.cancel()
        } catch {
            timer.cancel()
            throw error
        }
        defer { handoff.giveBack() }
        return try await body(connection)
    }

    private func offer(_ connection: PostgresConnection) -> Bool {
        let caller = state.withLock { s -> CheckedContinuation<PostgresConnection, any Error>?? in
            if s.gaveUp { return .none }
            defer { s.caller = nil }
            if s.caller == nil { s.connection = connection }
            return .some(s.caller)
        }
        guard let caller else { return false }
        caller?.resume(returning: connection)
        return true
    }

    private func fail(_ error: any Error) {
        let caller = state.withLock { s in
            defer { s.caller = nil }
            if s.caller == nil { s.failure = error }
            return s.caller
        }
        caller?.resume(throwing: error)
    }

    private func giveUp() {
        let caller = state.withLock { s in
            defer { s.caller = nil }
            if s.connection == nil && s.failure == nil { s.gaveUp = true }
            return s.caller
        }
        caller?.resume(throwing: LeaseTimeout())
    }

    private func take() async throws -> PostgresConnection {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<PostgresConnection, any Error>? = state.withLock { s in
                if let connection = s.connection { return .success(connection) }
                if let failure = s.failure { return .failure(failure) }
                if s.gaveUp { return .failure(LeaseTimeout()) }
                s.caller = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    private func waitUntilReturned() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { s in
                if !s.returned { s.holder = continuation }
                return s.returned
            }
            if done { continuation.resume() }
        }
    }

    private func giveBack() {
        let holder = state.withLock { s in
            s.returned = true
            defer { s.holder = nil }
            return s.holder
        }
        holder?.resume()
    }
}

/// The pool did not hand out a connection in time.
public struct LeaseTimeout: Error, CustomStringConvertible {
    public var description: String { "no database connection became available in time" }
}
