import ConcordAuth
import ConcordModels
import Hummingbird
import Logging
import ServiceLifecycle

/// One edge process: the public API server and its periodic rate-limiter sweep.
public struct EdgeNode: Sendable {
    public let api: EdgeAPI
    public let services: [any Service]

    public init(config: ClusterConfig, edge: ClusterConfig.Edge, secrets: ClusterSecrets,
                logger: Logger = Logger(label: "concord.edge"),
                onListening: @escaping @Sendable (Int) async -> Void = { _ in }) {
        let api = EdgeAPI(directory: CellDirectory(config: config, region: edge.region),
                          tokens: TokenAuthority(secret: secrets.tokenSecret), internalSecret: secrets.internalSecret,
                          limits: config.rate_limits ?? .discord, publicURL: edge.public_url, logger: logger)
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in await api.respond(request) },
            configuration: .init(address: .hostname(edge.listen.host, port: edge.listen.port), serverName: "concord-edge"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? edge.listen.port) },
            logger: logger)
        self.api = api
        services = [EdgeHousekeeping(api: api), app]
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
