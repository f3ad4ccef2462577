import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// An async Redis client on pipelined connections, one per event loop of its group: a call
/// made on an event loop goes over that loop's connection, so the command and its reply stay
/// on the caller's thread (a call from elsewhere takes the first loop's). A connection opens on
/// first use and is opened again on the next call after it drops (e.g. a Redis restart); calls
/// in flight when it drops fail with `RedisError.connectionClosed` and are not retried, since
/// they may have run. Calls one after the other (each awaited) run in order, on any connection.
public final class RedisClient: Sendable {
    private let connector: RedisConnector
    private let observer: (any RedisObserver)?
    private let loops: [any EventLoop]
    /// Each loop's connection, by the loop's place in `loops`.
    private let states: Mutex<[State]>
    private struct State {
        var channel: (any Channel)?
        var connecting: EventLoopFuture<any Channel>?
        var connections = 0
    }

    /// `tls`: Redis's TLS port, with this context (see `InternalTLS.redis`). `user`: the ACL user the
    /// password is of (none: Redis's default user).
    public init(host: String, port: Int, user: String? = nil, password: String? = nil, tls: NIOSSLContext? = nil,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, observer: (any RedisObserver)? = nil) {
        connector = RedisConnector(host: host, port: port, user: user, password: password, group: group, tls: tls)
        self.observer = observer
        loops = Array(group.makeIterator())
        states = Mutex(loops.map { _ in State() })
    }

    private var slot: Int { Self.place(among: loops) }

    /// The place of the caller's event loop among `loops`, or the first.
    static func place(among loops: [any EventLoop]) -> Int {
        loops.firstIndex { $0.inEventLoop } ?? 0
    }

    public var address: String { "\(connector.host):\(connector.port)" }

    public func send(_ arguments: String...) async throws -> RedisValue {
        try await send(arguments.map { Array($0.utf8) })
    }

    public func send(_ arguments: [String]) async throws -> RedisValue {
        try await send(arguments.map { Array($0.utf8) })
    }

    public func send(_ arguments: [[UInt8]]) async throws -> RedisValue {
        let started = ContinuousClock.now
        do {
            let reply = try await RedisConnector.send(arguments, on: try await channel())
            observer?.roundTrip(took: ContinuousClock.now - started, failed: false)
            return reply
        } catch {
            observer?.roundTrip(took: ContinuousClock.now - started, failed: true)
            throw error
        }
    }

    /// Sends several commands in one write and returns their replies in order; an error reply
    /// fails only its own entry.
    public func pipeline(_ commands: [[String]]) async throws -> [Result<RedisValue, RedisError>] {
        let started = ContinuousClock.now
        let channel: any Channel
        do { channel = try await self.channel() } catch {
            observer?.roundTrip(took: ContinuousClock.now - started, failed: true)
            throw error
        }
        let results: [Result<RedisValue, RedisError>]
        do {
            let replies = try await RedisConnector.write(commands.map { $0.map { Array($0.utf8) } }, on: channel).get()
            results = replies.map(RedisConnector.outcome)
        } catch let error as RedisError {
            results = Array(repeating: .failure(error), count: commands.count)
        }
        observer?.roundTrip(took: ContinuousClock.now - started, failed: results.contains { if case .failure(.connectionClosed) = $0 { true } else { false } })
        return results
    }

    public func close() async {
        let channels = states.withLock { states in
            defer { for slot in states.indices { states[slot].channel = nil } }
            return states.compactMap(\.channel)
        }
        for channel in channels { try? await channel.close() }
    }

    /// A call that joined a connect attempt begun by another call may have arrived after
    /// Redis came back while that attempt was already refused: it tries once on its own
    /// before failing, so a stale refusal never reaches a caller that came later.
    private func channel() async throws -> any Channel {
        let slot = self.slot
        do { return try await channel(slot, joinInFlight: true) } catch is JoinedFailure {
            return try await channel(slot, joinInFlight: false)
        }
    }

    private struct JoinedFailure: Error {}

    private func withState<T>(_ slot: Int, _ body: (inout State) -> T) -> T {
        states.withLock { body(&$0[slot]) }
    }

    private func channel(_ slot: Int, joinInFlight: Bool) async throws -> any Channel {
        let (future, joined): (EventLoopFuture<any Channel>, Bool) = withState(slot) { s in
            if let channel = s.channel, channel.isActive { return (channel.eventLoop.makeSucceededFuture(channel), false) }
            if joinInFlight, let connecting = s.connecting { return (connecting, true) }
            let connecting = connector.connect(on: loops[slot])
            s.connecting = connecting
            return (connecting, false)
        }
        do {
            let channel = try await future.get()
            let again = withState(slot) { s -> Bool? in
                guard s.connecting === future else { return nil }
                s.connecting = nil; s.channel = channel
                s.connections += 1
                return s.connections > 1
            }
            if let again { observer?.connected(again: again) }
            return channel
        } catch {
            withState(slot) { s in if s.connecting === future { s.connecting = nil } }
            if joined { throw JoinedFailure() }
            throw RedisError.connectFailed(String(describing: error))
        }
    }
}

/// What a client reports as it works, for the process's metrics (this module knows no metrics
/// library): each round trip (a command or a pipeline) and each connection it opens.
public protocol RedisObserver: Sendable {
    func roundTrip(took: Duration, failed: Bool)
    /// `again`: a connection after the first (Redis restarted, or the link dropped).
    func connected(again: Bool)
}
