import ConcordAuth
import ConcordHTTP
import ConcordModels
import ConcordObservability
import ConcordRedis
import ConcordStorage
import ConcordTiering
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// One cell process: its database pool, Redis client, domain, outbox publisher, chores and
/// internal API server, as services to run in one group.
public struct CellNode: Sendable {
    public let domain: CellDomain
    public let metrics = NodeMetrics()
    public let services: [any Service]

    /// - Parameter onListening: called with the API's bound port (useful when the config says port 0).
    /// - Parameter cluster: every cell of the cluster (for writes handed to a shared channel's home).
    public init(cell: ClusterConfig.Cell, cluster: [ClusterConfig.Cell] = [], secrets: ClusterSecrets, retentionHours: Double = 72,
                uploadBytes: Int = Limits.uploadBytes, internalTLS: ClusterConfig.InternalTLS? = nil,
                logger: Logger = Logger(label: "concord.cell"),
                onListening: @escaping @Sendable (Int) async -> Void = { _ in },
                onAdminListening: @escaping @Sendable (Int) async -> Void = { _ in }) throws {
        let db = Database(settings: DatabaseSettings(host: cell.postgres.host, port: cell.postgres.port,
                                                     database: cell.postgres.database, user: cell.postgres.user,
                                                     password: secrets.postgresPassword,
                                                     tls: try InternalTLS.postgres(cell.postgres, tls: internalTLS)), logger: logger,
                          observer: DatabaseMetrics(metrics))
        let credentials = secrets.redis(.cell)
        let redis = RedisClient(host: cell.redis.host, port: cell.redis.port, user: credentials?.user, password: credentials?.password,
                                tls: try InternalTLS.redis(cell, tls: internalTLS, process: cell.name),
                                observer: RedisMetrics(metrics, cell: cell.name))
        let signal = OutboxSignal()
        let peers = PeerCells(internalSecret: secrets.internalSecret,
                              tls: try internalTLS.map { try InternalTLS.client($0, process: cell.name) })
        peers.set(cluster, from: cell.region, secure: internalTLS != nil)
        // With internal TLS, only processes holding a certificate of the cluster's CA get in.
        let serverTLS = try internalTLS.map { try InternalTLS.server($0, process: cell.name) }
        let domain = CellDomain(cellID: cell.id, cellName: cell.name, db: db, redis: redis,
                                tokens: TokenAuthority(secret: secrets.tokenSecret),
                                hasher: PasswordHasher(costLog2: cell.passwordCostLog2), signal: signal,
                                archives: try CellStores.archives(of: cell, keys: secrets.objectStoreKeys),
                                hotMessagesPerChannel: cell.hotMessagesPerChannel, hotChannels: cell.hotChannels, peers: peers,
                                blobs: try CellStores.blobs(of: cell, keys: secrets.objectStoreKeys), logger: logger)
        let api = CellAPI(domain: domain, internalSecret: secrets.internalSecret, uploadBytes: uploadBytes, metrics: metrics, logger: logger)
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in await api.respond(request) },
            server: HTTPServerBuilder { responder in
                let http = HTTP1Channel(responder: responder)
                guard let serverTLS else { return http }
                return TLSServerChannel(http, tls: serverTLS)
            },
            configuration: .init(address: .hostname(cell.api.listenHost, port: cell.api.port), serverName: "concord-cell"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? cell.api.port) },
            logger: logger)
        self.domain = domain
        var services: [any Service] = [
            DatabaseService(db: db),
            OutboxPublisher(db: db, redis: redis, cellName: cell.name, signal: signal, counters: domain.counters, relayWakes: domain.relayWakes, logger: logger),
            CellMaintenance(domain: domain, retentionHours: retentionHours, logger: logger),
            app,
        ]
        if let admin = cell.admin {
            let metrics = metrics
            services.append(AdminServer.application(
                host: admin.host, port: admin.port, metrics: metrics,
                refresh: {
                    await Self.recordOutbox(db, into: metrics)
                    await Self.recordOperations(db, into: metrics)
                },
                readiness: [.init("postgres") { (try? await db.outboxHead()) != nil },
                            .init("redis") { (try? await redis.send("PING")) != nil }],
                logger: logger, onListening: onAdminListening))
        }
        self.services = services
    }
}

extension CellNode {
    /// Tier runs and what they archived, workspace moves by phase: what the operator's tool did,
    /// as its records in the cell's database say.
    static func recordOperations(_ db: Database, into metrics: NodeMetrics) async {
        guard let summary = try? await db.operationsSummary() else { return }
        metrics.gauge(.tierRuns).record(summary.tierRuns)
        metrics.gauge(.tierArchivedRows).record(summary.tierArchivedRows)
        metrics.gauge(.tierLastRun).record(summary.tierLastRun?.timeIntervalSince1970 ?? 0)
        metrics.gauge(.tierColdFiles).record(summary.coldFiles)
        metrics.gauge(.tierColdBytes).record(summary.coldBytes)
        metrics.gauge(.tierAlerts).record(summary.tierAlerts)
        for phase in WorkspaceMove.phases {
            metrics.gauge(.workspaceMoves, [("phase", phase)]).record(summary.movesByPhase[phase] ?? 0)
        }
        // 0 until a move finished here.
        metrics.gauge(.workspaceMoveLastFreeze).record((summary.lastMoveFreezeMilliseconds ?? 0) / 1000)
        metrics.gauge(.workspaceMoveLastDuration).record((summary.lastMoveTotalMilliseconds ?? 0) / 1000)
    }

    /// The outbox's head, what the Redis publisher has published, and the rows between.
    static func recordOutbox(_ db: Database, into metrics: NodeMetrics) async {
        guard let status = try? await db.outboxStatus(publisher: OutboxPublisher.consumer) else { return }
        let published = status.cursors[OutboxPublisher.consumer] ?? 0
        metrics.gauge(.outboxHead).record(status.headSeq)
        metrics.gauge(.outboxPublished).record(published)
        metrics.gauge(.outboxLag).record(max(0, status.headSeq - published) + Int64(status.unsequenced))
    }
}

/// Runs the PostgreSQL pool for the process's lifetime.
public struct DatabaseService: Service {
    let db: Database
    public init(db: Database) { self.db = db }
    public func run() async throws {
        await cancelWhenGracefulShutdown { await db.run() }
    }
}
