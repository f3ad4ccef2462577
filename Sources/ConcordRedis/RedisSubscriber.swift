import Logging
import NIOCore
import NIOPosix
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
    private let connector: RedisConnector
    private let logger: Logger
    private let state = Mutex<State>(State())
    private struct State {
        var channel: (any Channel)?
        var topics: Set<String> = []
    }

    public init(host: String, port: Int, password: String? = nil, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "concord.redis.subscriber")) {
        connector = RedisConnector(host: host, port: port, password: password, group: group)
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    public func subscribe(_ topic: String) async throws {
        let channel = state.withLock { s -> (any Channel)? in
            s.topics.insert(topic)
            return s.channel
        }
        if let channel { _ = try await RedisConnector.send([Array("SUBSCRIBE".utf8), Array(topic.utf8)], on: channel) }
    }

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
            do {
                let continuation = self.continuation
                let channel = try await connector.connect { value in
                    guard let items = value.array, items.count >= 3,
                          let topic = items[items.count - 2].string, case .bulk(let payload) = items[items.count - 1] else { return }
                    continuation.yield(.message(topic: topic, payload: payload))
                }.get()
                let topics = state.withLock { s -> Set<String> in
                    s.channel = channel
                    return s.topics
                }
                for topic in topics {
                    _ = try await RedisConnector.send([Array("SUBSCRIBE".utf8), Array(topic.utf8)], on: channel)
                }
                continuation.yield(.connected(resumed: connectedBefore))
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
            }
            state.withLock { $0.channel = nil }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(2))
        }
        continuation.finish()
    }
}
