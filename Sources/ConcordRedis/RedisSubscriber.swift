import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A pub/sub connection that stays subscribed: `run()` keeps it connected, resubscribes every
/// topic after a reconnect and reports each (re)connection, so a consumer can fetch what it
/// may have missed while disconnected (Redis pub/sub does not buffer).
public final class RedisSubscriber: Sendable {
    public enum Event: Sendable, Equatable {
        case message(topic: String, payload: [UInt8])
        /// The connection is up and every topic is subscribed; `resumed` is true after a drop.
        case connected(resumed: Bool)
    }

    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let counted: Counted
    private let connector: RedisConnector
    private let logger: Logger
    private let state = Mutex<State>(State())
    private struct State {
        var channel: (any Channel)?
        var topics: Set<String> = []
        /// Counts connections whose topics were all subscribed; `open` while the newest is up.
        var epoch = 0
        var open = false
    }
    /// The last payload of each topic asked for with `keepLatest(of:)`, noted as it arrives.
    private let latest = Mutex<[String: [UInt8]]>([:])

    public init(host: String, port: Int, user: String? = nil, password: String? = nil, tls: NIOSSLContext? = nil,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "concord.redis.subscriber")) {
        connector = RedisConnector(host: host, port: port, user: user, password: password, group: group, tls: tls)
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        counted = Counted(continuation)
    }

    /// How many events have been put into `events` so far: a consumer that has taken fewer
    /// knows more are waiting.
    public var yielded: Int { counted.count.load(ordering: .acquiring) }

    /// The current connection's number while it is up with every topic subscribed; nil while
    /// it is down or still subscribing. The same number later means no message was missed
    /// between the two readings (pub/sub loses only what arrives while disconnected).
    public var connection: Int? { state.withLock { $0.open ? $0.epoch : nil } }

    /// Starts noting the last payload published on `topic` (before it reaches `events`).
    public func keepLatest(of topic: String) { latest.withLock { if $0[topic] == nil { $0[topic] = [] } } }

    /// The last payload noted for `topic`: every one published before a SUBSCRIBE on this
    /// connection was confirmed has been noted by the time the confirmation is.
    public func latestPayload(of topic: String) -> [UInt8]? { latest.withLock { $0[topic] } }

    /// Follows `topic` from now on, across reconnections. Answers whether Redis confirmed it on
    /// the current connection (false while disconnected: the next connection subscribes it).
    @discardableResult
    public func subscribe(_ topic: String) async throws -> Bool {
        try await subscribe([topic])
    }

    /// Follows several topics, in one SUBSCRIBE: confirmed when Redis confirmed them all.
    @discardableResult
    public func subscribe(_ topics: [String]) async throws -> Bool {
        let channel = state.withLock { s -> (any Channel)? in
            s.topics.formUnion(topics)
            return s.channel
        }
        guard let channel else { return false }
        try await RedisConnector.subscribe(topics, on: channel)
        return true
    }

    /// Topics a reconnection subscribes in one command at most.
    static let topicsPerSubscribe = 256

    public func unsubscribe(_ topic: String) async throws {
        let channel = state.withLock { s -> (any Channel)? in
            s.topics.remove(topic)
            return s.channel
        }
        if let channel { _ = try await RedisConnector.send([Array("UNSUBSCRIBE".utf8), Array(topic.utf8)], on: channel) }
    }

    /// Runs until the task is cancelled, reconnecting with a capped backoff.
    public func run() async {
        var connectedBefore = false
        var backoff: Duration = .milliseconds(50)
        while !Task.isCancelled {
            // Messages of a topic subscribed early arrive while later topics are still being
            // subscribed: they wait until `.connected` has gone out, so a consumer reading back
            // what it missed (from where it was before the drop) does so before any of them.
            let gate = ConnectionGate(counted)
            var opened: (any Channel)?
            do {
                let channel = try await connector.connect { value in
                    guard let items = value.array, items.count >= 3,
                          let topic = items[items.count - 2].string, case .bulk(let payload) = items[items.count - 1] else { return }
                    self.latest.withLock { if $0[topic] != nil { $0[topic] = payload } }
                    gate.yield(.message(topic: topic, payload: payload))
                }.get()
                opened = channel
                let topics = state.withLock { s -> Set<String> in
                    s.channel = channel
                    return s.topics
                }
                let all = Array(topics)
                for start in stride(from: 0, to: all.count, by: Self.topicsPerSubscribe) {
                    try await RedisConnector.subscribe(Array(all[start..<min(start + Self.topicsPerSubscribe, all.count)]), on: channel)
                }
                state.withLock { s in
                    s.epoch += 1
                    s.open = true
                }
                gate.open(with: .connected(resumed: connectedBefore))
                connectedBefore = true
                backoff = .milliseconds(50)
                try await withTaskCancellationHandler {
                    try await channel.closeFuture.get()
                } onCancel: {
                    channel.close(promise: nil)
                }
                logger.warning("redis subscriber connection closed", metadata: ["redis": "\(connector.host):\(connector.port)"])
            } catch {
                logger.debug("redis subscriber connect failed", metadata: ["error": "\(error)"])
                // A connection that could not subscribe everything is not left half-subscribed.
                opened?.close(promise: nil)
            }
            state.withLock { s in
                s.channel = nil
                s.open = false
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(2))
        }
        continuation.finish()
    }
}

/// The stream's continuation, counting what it yields.
private final class Counted: Sendable {
    let continuation: AsyncStream<RedisSubscriber.Event>.Continuation
    let count = Atomic<Int>(0)

    init(_ continuation: AsyncStream<RedisSubscriber.Event>.Continuation) { self.continuation = continuation }

    func yield(_ event: RedisSubscriber.Event) {
        count.wrappingAdd(1, ordering: .releasing)
        continuation.yield(event)
    }
}

/// Holds one connection's messages until its subscriptions are complete, then lets them
/// through after the `.connected` event, in arrival order.
private final class ConnectionGate: Sendable {
    private let continuation: Counted
    private let state = Mutex<(open: Bool, held: [RedisSubscriber.Event])>((false, []))

    init(_ continuation: Counted) { self.continuation = continuation }

    func yield(_ event: RedisSubscriber.Event) {
        state.withLock { s in
            // Yielded under the lock: `open` cannot slip its held messages in behind this one.
            if s.open { continuation.yield(event) } else { s.held.append(event) }
        }
    }

    func open(with first: RedisSubscriber.Event) {
        state.withLock { s in
            continuation.yield(first)
            for event in s.held { continuation.yield(event) }
            s = (true, [])
        }
    }
}
