import AsyncHTTPClient
import ConcordCell
import ConcordEdge
import ConcordHTTP
import ConcordModels
import ConcordStorage
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import Testing

/// Real cells and real edges, in this process but talking over loopback HTTP, each cell on a
/// fresh migrated database, all on the test Redis (keys are prefixed by cell name). With more
/// than one cell, cells and edges alternate between regions "us" and "eu".
struct TestCluster: Sendable {
    let edgeURLs: [String]
    var edgeURL: String { edgeURLs[0] }
    /// The first edge's port, for tests that speak to it over raw sockets.
    var edgePort: Int { Int(edgeURL.split(separator: ":").last!)! }
    /// The cluster as its processes see it (the cell with its bound API port).
    let config: ClusterConfig
    let cellURL: String
    let cellName: String
    let domain: CellDomain
    /// Every cell's domain, in cell id order (cell 1 first).
    let domains: [CellDomain]
    /// The inter-region links (with `interRegionDelay`): how the other region reaches each cell.
    let links: [(cell: Int, api: DelayProxy, redis: DelayProxy)]
    let http: HTTPClient
    let secrets: ClusterSecrets
    /// Each edge's REST API, for what it counted.
    let edgeAPIs: [EdgeAPI]
    /// With `admin`: each cell's admin listener (cell 1 first), then each edge's.
    let adminURLs: [String]
    /// Start each edge's graceful shutdown (what SIGTERM does).
    let drainEdges: [@Sendable () async -> Void]
    var drainEdge: @Sendable () async -> Void { drainEdges[0] }

    struct Reply: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
        var json: JSONValue? { try? WireJSON.decode(JSONValue.self, from: body) }
        /// Decodes the body; a failure names the status and body, so a flaky run says what the server answered.
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            do { return try WireJSON.decode(type, from: body) } catch {
                throw UnexpectedReply(description: "expected \(T.self), got HTTP \(status): \(text.prefix(500))")
            }
        }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Limits no test meets unless it means to (a history walk reads hundreds of pages a second).
    static var generousLimits: ClusterConfig.RateLimits {
        var limits = ClusterConfig.RateLimits(requestsPerSecond: 10_000, messageSendsPer5s: 10_000, publicRequestsPerSecond: 10_000,
                                              authRequestsPerMinute: 1_000_000, loginsPerMinutePerAccount: 1_000_000)
        limits.route_requests_per_5s = 1_000_000
        return limits
    }

    /// - Parameter interRegionDelay: one-way milliseconds of the links between regions: each
    ///   cell is reached from the other region through a delay proxy (scripts/delay_proxy.py).
    /// - Parameter internalTLS: mutual TLS on every link between the cluster's processes, with
    ///   certificates of a CA made for the cluster (scripts/tls.sh); by default where there is
    ///   more than one cell, so every cross-cell test runs over it.
    /// - Parameter publicTLS: the edges serve HTTPS and WSS (the test's client trusts the CA).
    static func with<T: Sendable>(cells cellCount: Int = 1, edges edgeCount: Int = 1, interRegionDelay: Double? = nil,
                                  rateLimits: ClusterConfig.RateLimits = TestCluster.generousLimits,
                                  redisPort: Int? = nil, redisPassword: String? = nil, redisRoles: [RedisRole: String] = [:], admin: Bool = false, objectStore: Bool = false,
                                  internalTLS: Bool? = nil, publicTLS: Bool = false, recordLinks: Bool = false,
                                  logger: Logger = TestServers.logger,
                                  _ body: (TestCluster) async throws -> T) async throws -> T {
        let base = "test-" + UUID().uuidString.prefix(8).lowercased()
        let regions = cellCount == 1 ? ["local"] : ["us", "eu"]
        let secrets = ClusterSecrets(tokenSecret: Array(UUID().uuidString.utf8) + Array(UUID().uuidString.utf8),
                                     internalSecret: UUID().uuidString + UUID().uuidString, postgresPassword: TestServers.postgresPassword,
                                     redisPassword: redisPassword, objectStoreKeys: objectStore ? try TestServers.objectStoreKeys() : nil,
                                     redisRolePasswords: redisRoles)
        let certificates = internalTLS ?? (cellCount > 1) || publicTLS ? try await TestCertificates.make(base) : nil
        let tls = internalTLS ?? (cellCount > 1) ? certificates.map { ClusterConfig.InternalTLS(ca: $0.ca, directory: $0.directory) } : nil
        let migrator = Migrator(directory: TestServers.migrationsDirectory)
        var cells: [(config: ClusterConfig.Cell, node: CellNode, group: ServiceGroup, task: Task<Void, any Error>, watch: ServiceWatch)] = []
        var links: [(cell: Int, api: DelayProxy, redis: DelayProxy)] = []
        var edges: [(ServiceGroup, Task<Void, any Error>)] = []
        var edgeAPIs: [EdgeAPI] = []
        var adminURLs: [String] = []
        func adminPort(_ box: PortBox) async throws { adminURLs.append("http://127.0.0.1:\(try await box.wait())") }
        var edgeEntries: [ClusterConfig.Edge] = []
        var config = ClusterConfig(regions: regions, cells: [], edges: [])
        // Whatever started is stopped again if a later step of the set-up fails.
        do {
            for id in 1...cellCount {
                let database = try await TestServers.createDatabase()
                let name = id == 1 ? base : "\(base)-c\(id)"
                var cell = ClusterConfig.Cell(id: id, name: name, region: regions[(id - 1) % regions.count],
                                              postgres: .init(host: "127.0.0.1", port: try TestServers.postgresPort(), database: database, user: TestServers.cellRole),
                                              redis: .init(host: "127.0.0.1", port: try redisPort ?? TestServers.redisPort()),
                                              api: .init(host: "127.0.0.1", port: 0),
                                              tiering: .init(archiveDir: TestServers.scratch + "/archive-\(name)"))
                // Cheap hashes: the suites register hundreds of people (production uses 2^17).
                cell.password_cost_log2 = 10
                if objectStore { cell.tiering?.object_store = try await TestServers.objectStore(prefix: name + "/") }
                // Internal TLS reaches the cell's PostgreSQL and Redis too, where the test servers take it.
                if tls != nil, TestServers.tlsDirectory != nil {
                    cell.postgres.host = "localhost"
                    cell.postgres.tls = "verify-full"
                    if redisPort == nil, let port = TestServers.redisTLSPort { (cell.redis.port, cell.redis_tls) = (port, true) }
                }
                cell.internal_tls = tls
                if admin { cell.admin = .init(host: "127.0.0.1", port: 0) }
                _ = try await TestServers.withRunning(Database(settings: try TestServers.settings(database: database), logger: logger)) {
                    try await migrator.migrate($0)
                }
                let cellPort = PortBox()
                let cellAdminPort = PortBox()
                if let certificates { try await certificates.issue(name) }
                let node = try CellNode(cell: cell, secrets: secrets, uploadBytes: config.uploadBytes, internalTLS: tls, logger: logger, onListening: { cellPort.set($0) },
                                    onAdminListening: { cellAdminPort.set($0) })
                let watch = ServiceWatch()
                let group = ServiceGroup(services: watch.wrap(node.services), gracefulShutdownSignals: [], logger: logger)
                let task = Task { try await group.run() }
                cell.api.port = try await cellPort.wait()
                if admin { try await adminPort(cellAdminPort) }
                cells.append((cell, node, group, task, watch))
            }
            if let delay = interRegionDelay {
                for index in cells.indices {
                    for region in regions where region != cells[index].config.region {
                        // Recorded, what crosses between regions can be read back (in plain text without internal TLS).
                        let recording = recordLinks ? TestServers.scratch + "/link-\(base)-\(index)" : nil
                        let api = try await DelayProxy.start(to: cells[index].config.api.port, delayMilliseconds: delay,
                                                             recording: recording.map { $0 + "-api" })
                        let redis = try await DelayProxy.start(to: cells[index].config.redis.port, delayMilliseconds: delay,
                                                               recording: recording.map { $0 + "-redis" })
                        links.append((cells[index].config.id, api, redis))
                        cells[index].config.reached_from = [region: .init(api: .init(host: "127.0.0.1", port: api.port),
                                                                          redis: .init(host: "127.0.0.1", port: redis.port))]
                    }
                }
            }
            // Cells hand writes to shared channels to each other: each learns the others' bound ports.
            for cell in cells { cell.node.domain.peers.set(cells.map(\.config), from: cell.config.region, secure: tls != nil) }
            for n in 1...edgeCount {
                let port = try TestServers.freePort()
                var edge = ClusterConfig.Edge(name: "edge-\(n)", region: regions[(n - 1) % regions.count], listen: .init(host: "127.0.0.1", port: port),
                                              publicURL: (publicTLS ? "https" : "http") + "://127.0.0.1:\(port)")
                if admin { edge.admin = .init(host: "127.0.0.1", port: 0) }
                if let certificates {
                    try await certificates.issue(edge.name)
                    if publicTLS { edge.tls = .init(certificate: certificates.directory + "/\(edge.name).pem", key: certificates.directory + "/\(edge.name)-key.pem") }
                }
                edgeEntries.append(edge)
            }
            config = ClusterConfig(regions: regions, cells: cells.map(\.config), edges: edgeEntries, rateLimits: rateLimits)
            config.internal_tls = tls
            // Presence lapses after 2 s without a refresh, so expiry tests take seconds, not a minute.
            config.presence_ttl_seconds = 2
            // Every event for two sessions or more is routed in parts, as a large fan-out is.
            config.gateway_parallel_fanout = 2
            // A compressed socket quiet for a second loses its zlib context, so every flow that
            // pauses (the stock libraries' included) reads a stream carried on by a new one.
            config.gateway_compression_idle_seconds = 1
            for edge in edgeEntries {
                let edgePort = PortBox()
                let edgeAdminPort = PortBox()
                let edgeNode = try EdgeNode(config: config, edge: edge, secrets: secrets, webRoot: TestServers.webRoot, logger: logger,
                                        onListening: { edgePort.set($0) }, onAdminListening: { edgeAdminPort.set($0) })
                edgeAPIs.append(edgeNode.api)
                let edgeGroup = ServiceGroup(services: edgeNode.services, gracefulShutdownSignals: [], logger: logger)
                edges.append((edgeGroup, Task { try await edgeGroup.run() }))
                _ = try await edgePort.wait()
                if admin { try await adminPort(edgeAdminPort) }
            }
        } catch {
            for (group, task) in edges { await stop(group, task, "edge") }
            for cell in cells { await stop(cell.group, cell.task, "cell \(cell.config.name)", cell.watch) }
            for link in links { link.api.stop(); link.redis.stop() }
            throw error
        }
        // The test's own client trusts the cluster's CA and shows the operator tool's certificate.
        var clientConfiguration = HTTPClient.Configuration()
        if let certificates {
            try await certificates.issue("concordctl")
            clientConfiguration.tlsConfiguration = try InternalTLS.client(.init(ca: certificates.ca, directory: certificates.directory), process: "concordctl")
        }
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: clientConfiguration)
        let cluster = TestCluster(edgeURLs: edgeEntries.map(\.public_url), config: config,
                                  cellURL: cells[0].config.apiURL(from: cells[0].config.region, secure: tls != nil), cellName: base,
                                  domain: cells[0].node.domain, domains: cells.map(\.node.domain), links: links, http: http, secrets: secrets, edgeAPIs: edgeAPIs, adminURLs: adminURLs,
                                  drainEdges: edges.map { group, _ in { await group.triggerGracefulShutdown() } })
        let result: Result<T, any Error>
        do { result = .success(try await body(cluster)) } catch { result = .failure(error) }
        try? await http.shutdown()
        for (group, task) in edges { await stop(group, task, "edge") }
        // Links go before the cells: no connection through a proxy outlives the processes at its ends.
        for link in links { link.api.stop(); link.redis.stop() }
        for cell in cells { await stop(cell.group, cell.task, "cell \(cell.config.name)", cell.watch) }
        return try result.get()
    }

    /// Shuts a process's services down gracefully. One that does not finish in 30 s is
    /// cancelled, as an operator's second signal would (noted on stderr with the services still
    /// running); one that does not stop even then fails the test, so a hard hang fails loudly
    /// instead of hanging the run.
    private static func stop(_ group: ServiceGroup, _ task: Task<Void, any Error>, _ name: String, _ watch: ServiceWatch? = nil) async {
        await group.triggerGracefulShutdown()
        if await withDeadline(.seconds(30), { _ = await task.result }) != nil { return }
        let running = watch.map { " (still running: \($0.stillRunning.joined(separator: ", ")))" } ?? ""
        FileHandle.standardError.write(Data("warning: the \(name)'s services did not shut down gracefully within 30 s\(running); cancelling\n".utf8))
        task.cancel()
        if await withDeadline(.seconds(10), { _ = await task.result }) == nil {
            Issue.record("the \(name)'s services did not stop within 30 s, nor 10 s after being cancelled")
        }
    }

    /// Runs `concordctl` (the operator's tool, as a process) against this cluster.
    func concordctl(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> Subprocess.Result {
        let configPath = TestServers.scratch + "/cluster-\(cellName).json"
        try WireJSON.encode(config).write(to: URL(fileURLWithPath: configPath))
        var env = ProcessInfo.processInfo.environment
        env["CONCORD_PG_PASSWORD"] = TestServers.postgresPassword
        env["CONCORD_TOKEN_SECRET"] = String(decoding: secrets.tokenSecret, as: UTF8.self)
        env["CONCORD_INTERNAL_SECRET"] = secrets.internalSecret
        if let keys = secrets.objectStoreKeys { (env["CONCORD_S3_ACCESS_KEY"], env["CONCORD_S3_SECRET_KEY"]) = (keys.access, keys.secret) }
        let ctl = TestServers.repositoryRoot.appendingPathComponent(".build/debug/concordctl").path
        return try await Subprocess.run(ctl, arguments + ["--config", configPath], environment: env, timeout: timeout)
    }

    /// A request to the edge's REST API (`path` is under /api/v10).
    /// `rawBody` goes as it is, with only the headers given (no Content-Type of its own).
    func request(_ method: HTTPMethod, _ path: String, token: String? = nil, json: String? = nil,
                 headers extra: [(String, String)] = [], rawBody: String? = nil, rawPath: Bool = false, absolute: Bool = false,
                 edge: Int = 0) async throws -> Reply {
        var request = HTTPClientRequest(url: absolute ? path : edgeURLs[edge] + (rawPath ? path : "/api/v10" + path))
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: token) }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        if let rawBody { request.body = .bytes(ByteBuffer(string: rawBody)) }
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 32 * 1024 * 1024)
        let reply = Reply(status: Int(response.status.code), headers: response.headers, body: Data(body.readableBytesView))
        if !rawPath && !absolute { WireLog.recordResponse(method: method.rawValue, path: path, status: reply.status, body: reply.body) }
        return reply
    }

    func request(_ method: HTTPMethod, _ path: String, token: String? = nil, body: some Encodable, edge: Int = 0) async throws -> Reply {
        try await request(method, path, token: token, json: try WireJSON.encodeString(body), edge: edge)
    }

    /// An owner and a member of a new workspace, and its system channel.
    struct Pair {
        var owner: (id: Snowflake, token: String)
        var member: (id: Snowflake, token: String)
        var guild: Guild
        var general: Snowflake
    }

    /// Registers `owner` and `member`, makes the owner's workspace and lets the member in by an invite.
    func workspaceOfTwo(_ name: String, owner: String = "alice", member: String = "bob") async throws -> Pair {
        let (ownerID, ownerToken) = try await register(owner)
        let (memberID, memberToken) = try await register(member)
        let guild = try await request(.POST, "/guilds", token: ownerToken, body: GuildCreateRequest(name: name)).decode(Guild.self)
        let general = try #require(guild.system_channel_id)
        let invite = try await request(.POST, "/channels/\(general)/invites", token: ownerToken, json: "{}").decode(Invite.self)
        #expect(try await request(.POST, "/invites/\(invite.code)", token: memberToken).status == 200)
        return Pair(owner: (ownerID, ownerToken), member: (memberID, memberToken), guild: guild, general: general)
    }

    /// Registers a person through the API and returns (user id, token). They are homed in the
    /// first cell of the region of the edge they register at.
    func register(_ username: String, password: String = "correct horse battery", edge: Int = 0) async throws -> (Snowflake, String) {
        let reply = try await request(.POST, "/auth/register", body: RegisterRequest(username: username, password: password), edge: edge)
        #expect(reply.status == 201, "register failed: \(reply.text)")
        let token = try reply.decode(TokenResponse.self)
        return (token.user_id, token.token)
    }
}

struct UnexpectedReply: Error, CustomStringConvertible {
    let description: String
}

/// Hands a bound port from a server's start-up callback to the test.
final class PortBox: Sendable {
    private let port = Mutex<Int?>(nil)
    func set(_ value: Int) { port.withLock { $0 = value } }
    func wait() async throws -> Int {
        for _ in 0..<400 {
            if let p = port.withLock({ $0 }) { return p }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw CancellationError()
    }
}
