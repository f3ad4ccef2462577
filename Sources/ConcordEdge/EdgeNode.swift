import ConcordAuth
import ConcordHTTP
import ConcordModels
import ConcordObservability
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// One edge process: the public API server and its periodic rate-limiter sweep.
public struct EdgeNode: Sendable {
    public let api: EdgeAPI
    public let services: [any Service]

    public init(config: ClusterConfig, edge: ClusterConfig.Edge, secrets: ClusterSecrets,
                webRoot: String = WebApp.defaultRoot,
                logger: Logger = Logger(label: "concord.edge"),
                onListening: @escaping @Sendable (Int) async -> Void = { _ in },
                onAdminListening: @escaping @Sendable (Int) async -> Void = { _ in }) throws {
        // HTTPS and WSS for clients where the edge has a certificate; TLS to the cells where the
        // cluster has internal TLS.
        let publicTLS = try edge.tls.map { try ServerTLS(certificate: $0.certificate, key: $0.key) }
        let cellTLS = try config.internal_tls.map { try InternalTLS.client($0, process: edge.name) }
        let metrics = NodeMetrics()
        let api = EdgeAPI(directory: try CellDirectory(config: config, region: edge.region, redis: secrets.redis(.edge), process: edge.name,
                                                       metrics: metrics),
                          tokens: TokenAuthority(secret: secrets.tokenSecret), internalSecret: secrets.internalSecret,
                          limits: config.rate_limits ?? .discord, trustedProxies: config.trusted_proxies ?? [], publicURL: edge.public_url, region: edge.region,
                          edges: config.edges.map { EdgeListing(name: $0.name, region: $0.region, url: $0.public_url) },
                          webApp: WebApp(root: webRoot), uploadBytes: config.uploadBytes, presenceTTL: config.presence_ttl_seconds ?? 60,
                          parallelFanout: config.gatewayParallelFanout, compressionIdleSeconds: config.gatewayCompressionIdleSeconds,
                          metrics: metrics, cellTLS: cellTLS, logger: logger)
        let gateway = api.gateway
        let connectionGuard = ConnectionGuard(connectionsPerAddress: (config.rate_limits ?? .discord).connectionsPerAddress)
        let app = Application(
            responder: CallbackResponder<EdgeRequestContext> { request, context in await api.respond(request, peer: context.peerAddress) },
            server: HTTPServerBuilder { responder in
                // Each address holds a bounded number of connections, each of which must send its
                // first request head within seconds; idle kept-alive connections close after a minute.
                // No WebSocket pings: the gateway's heartbeats find dead sessions.
                let upgrade = GatewayChildChannel(responder: responder, hub: gateway, idleTimeout: .seconds(60))
                guard let publicTLS else { return GuardedChildChannel(upgrade, guard: connectionGuard) }
                return GuardedChildChannel(TLSServerChannel(upgrade, tls: publicTLS), guard: connectionGuard)
            },
            configuration: .init(address: .hostname(edge.listen.host, port: edge.listen.port), serverName: "concord-edge"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? edge.listen.port) },
            logger: logger)
        self.api = api
        // Shut down in reverse: the gateway drains (op 7 to every session) while the server still runs.
        var services: [any Service] = [EdgeHousekeeping(api: api), app, GatewayService(hub: gateway)]
        if let admin = edge.admin {
            let metrics = api.metrics
            let directory = api.directory
            services.insert(AdminServer.application(
                host: admin.host, port: admin.port, metrics: metrics,
                refresh: {
                    metrics.gauge(.gatewaySessions).record(gateway.sessionCount)
                    let usage = api.cells.connectionUsage
                    metrics.gauge(.edgeCellConnections).record(usage.open)
                    metrics.gauge(.edgeCellCallsWaiting).record(usage.waiting)
                },
                // The edge needs every cell's Redis: tokens' revocation, rate limits, live events.
                readiness: directory.all.sorted { $0.cell.id < $1.cell.id }.map { entry in
                    .init("redis of \(entry.cell.name)") { (try? await entry.redis.send("PING")) != nil }
                },
                logger: logger, onListening: onAdminListening), at: 0)
        }
        self.services = services
    }

    static func split(_ target: String) -> (String, [String: String]) {
        let parts = target.split(separator: "?", maxSplits: 1)
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                query[String(kv[0])] = kv.count == 2 ? String(kv[1]) : ""
            }
        }
        return (parts.first.map(String.init) ?? "", query)
    }
}

/// A request's context: Hummingbird's, plus the address of the socket it came in on.
struct EdgeRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let peerAddress: String?
    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress
    }
}

/// Runs the gateway hub's Redis subscriptions for the edge's lifetime; on graceful shutdown
/// (SIGTERM, a deploy) it hands every session over and tells it to reconnect (op 7) while
/// the server still runs.
struct GatewayService: Service {
    let hub: GatewayHub
    func run() async throws {
        await cancelWhenGracefulShutdown { await hub.run() }
        await hub.drain()
    }
}

/// Sweeps idle rate-limit buckets and closes the HTTP client on shutdown.
struct EdgeHousekeeping: Service {
    let api: EdgeAPI
    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(30))
                api.limiter.sweep()
            }
        }
        await api.shutdown()
    }
}
