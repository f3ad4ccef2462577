import AsyncHTTPClient
import ConcordHTTP
import ConcordModels
import ConcordObservability
import ConcordRedis
import Foundation
import Logging
import NIOSSL
import ServiceLifecycle

/// Carries other cells' outbox events into one cell: for each source cell, it asks the
/// destination where it is in that source's outbox, reads the next page after it from the
/// source, and hands the page to the destination, which applies what concerns its replicas and
/// moves its cursor in the same transaction. The relay keeps no state of its own: stop it, kill
/// it, run two, and the destination's cursor still says exactly what was applied.
public struct Relay: Service {
    let destination: ClusterConfig.Cell
    let sources: [ClusterConfig.Cell]
    let internalSecret: String
    let redisCredentials: RedisCredentials?
    let pollInterval: Duration
    /// The cluster's internal TLS: the relay shows its cell's certificate (it works for that cell).
    let tls: ClusterConfig.InternalTLS?
    /// Per source: its outbox head, how far this destination has applied it, the rows and
    /// seconds it is behind, events applied and failed steps.
    public let metrics: NodeMetrics
    let logger: Logger

    public init(config: ClusterConfig, destination: ClusterConfig.Cell, internalSecret: String, redis credentials: RedisCredentials? = nil,
                pollInterval: Duration = .milliseconds(500), metrics: NodeMetrics = NodeMetrics(), logger: Logger = Logger(label: "concord.relay")) {
        self.metrics = metrics
        self.destination = destination
        self.sources = config.cells.filter { $0.id != destination.id }
        self.tls = config.internal_tls
        self.internalSecret = internalSecret
        self.redisCredentials = credentials
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async throws {
        let cellTLS = try tls.map { try InternalTLS.client($0, process: destination.name) }
        let configuration = CellClient.configuration(tls: cellTLS)
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        // TLS to each source's Redis where it has it (a certificate problem stops the relay here, loudly).
        let redisTLS: [Int: NIOSSLContext]
        do {
            redisTLS = try sources.reduce(into: [:]) { $0[$1.id] = try InternalTLS.redis($1, tls: tls, process: destination.name) }
        } catch {
            try? await http.shutdown()
            throw error
        }
        let cells = CellClient(http: http, secret: internalSecret, tls: cellTLS, logger: logger)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for source in sources { group.addTask { await self.follow(source, cells: cells, redisTLS: redisTLS[source.id]) } }
            }
        }
        cells.shutdown()
        try await http.shutdown()
    }

    /// Relays one source until cancelled: caught up, the relay keeps a read held open at the
    /// source, which writes each page into it as soon as it numbers events for this destination
    /// (one way over the link instead of a wake through Redis and then a read); besides, a page whenever the source
    /// publishes a new outbox position holding events for this destination (its Redis, over the
    /// link: a source that does not hold reads), and every poll interval (Redis may be down; a
    /// share made by another process is seen late).
    /// Failures (either cell unreachable, the destination's database down) are retried with a
    /// growing pause, from the destination's cursor.
    func follow(_ source: ClusterConfig.Cell, cells: CellClient, redisTLS: NIOSSLContext?) async {
        let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let address = source.redis(from: destination.region)
        let subscriber = RedisSubscriber(host: address.host, port: address.port, user: redisCredentials?.user, password: redisCredentials?.password, tls: redisTLS, logger: logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await subscriber.run() }
            group.addTask {
                try? await subscriber.subscribe(Topics.relayWake(cell: source.name, destination: destination.id))
                for await event in subscriber.events {
                    if case .message = event { wake.yield() }
                }
            }
            group.addTask { [pollInterval] in
                while !Task.isCancelled {
                    wake.yield()
                    try? await Task.sleep(for: pollInterval)
                }
                wake.finish()
            }
            var pause = pollInterval
            var follower = SourceFollower(relay: self, source: source, cells: cells)
            for await _ in wakes {
                do {
                    // Everything there is, a page at a time, then each new page as soon as the
                    // source numbers it (a read held open there), until such a read brings nothing.
                    _ = try await follower.catchUp(holding: openReadHold)
                    pause = pollInterval
                } catch let error as APIError where error.status == 410 {
                    // Rows this destination never got are gone: going on would skip them for good.
                    logger.critical("relay stopped: the source pruned outbox rows this destination never received; the replicas of its channels cannot be completed from the outbox (reshare them, or restore the rows)",
                                    metadata: ["source": "\(source.name)", "destination": "\(destination.name)", "error": "\(error)"])
                    break
                } catch {
                    follower.reset()
                    if Task.isCancelled { break }
                    metrics.counter(.relayFailures, [("source", source.name)]).increment()
                    logger.warning("relay step failed; retrying", metadata: ["source": "\(source.name)", "error": "\(error)"])
                    try? await Task.sleep(for: pause)
                    pause = min(pause * 2, .seconds(2))
                }
                if Task.isCancelled { break }
            }
            follower.reset()
            group.cancelAll()
        }
    }

    /// How long a read is held open at a source. Long, since the events the source numbers while
    /// the next read travels there wait for it; short enough that a destination's cursor moved
    /// back by a replay while nothing came is seen soon (it is checked as pages come).
    var openReadHold: Duration {
        min(pollInterval * 6, .milliseconds(InternalAPI.longestRelayHold))
    }

    /// The relay runs in its destination's region: other cells are reached over the link.
    func url(_ cell: ClusterConfig.Cell) -> String {
        cell.apiURL(from: destination.region, secure: tls != nil)
    }
}

/// Where a relay reads on from in a source's outbox (`read`), and the destination's cursor as
/// its last answer gave it (`applied`, read again at least every poll interval): `read` is ahead
/// only by pages that held nothing for the destination.
struct RelayPosition {
    var read: Int64
    var applied: Int64
    var at: ContinuousClock.Instant
}

/// A page with nothing for the destination moves its cursor at most once per interval: the
/// relay reads on from where the page ended, and the destination's transaction that records it
/// (which a page per message of an unshared workspace would cost) waits. A relay restarted
/// meanwhile reads those pages again from the destination's cursor, and again finds nothing.
struct EmptyPages {
    let interval: Duration
    private var movedAt: ContinuousClock.Instant?

    init(interval: Duration) {
        self.interval = interval
    }

    /// Whether this empty page goes to the destination (and so moves its cursor).
    mutating func movesCursor(now: ContinuousClock.Instant) -> Bool {
        if let movedAt, now - movedAt < interval { return false }
        movedAt = now
        return true
    }
}

/// What the relay reports of one source: the source's head, how far the destination has applied
/// it, and how long it has been behind (since it last had everything; 0 when caught up).
struct LagGauges {
    let metrics: NodeMetrics
    let source: String
    var head: Int64 = 0 {
        didSet { metrics.gauge(.relaySourceHead, [("source", source)]).record(head) }
    }
    private var caughtUpAt = ContinuousClock.now

    init(metrics: NodeMetrics, source: String) {
        self.metrics = metrics
        self.source = source
    }

    mutating func applied(_ count: Int, through seq: Int64?) {
        if count > 0 { metrics.counter(.relayApplied, [("source", source)]).increment(by: count) }
        guard let seq else { return }
        let behind = max(0, head - seq)
        let now = ContinuousClock.now
        if behind == 0 { caughtUpAt = now }
        let seconds = now - caughtUpAt
        metrics.gauge(.relayAppliedThrough, [("source", source)]).record(seq)
        metrics.gauge(.relayLagRows, [("source", source)]).record(behind)
        metrics.gauge(.relayLagSeconds, [("source", source)]).record(Double(seconds.components.seconds) + Double(seconds.components.attoseconds) / 1e18)
    }
}
