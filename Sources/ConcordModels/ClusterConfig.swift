import Foundation

/// The cluster's shape, read by every process from one JSON file: regions, cells (with their
/// PostgreSQL and Redis) and edges. Secrets are not in this file; see `ClusterSecrets`.
public struct ClusterConfig: Codable, Sendable, Equatable {
    public struct Endpoint: Codable, Sendable, Equatable {
        /// The name others dial (and, without `bind`, the address the process listens on).
        public var host: String
        public var port: Int
        /// The address to listen on when it is not `host`: behind a Kubernetes Service or in a
        /// container, others dial the service's name while the process listens on `0.0.0.0`.
        public var bind: String?
        public init(host: String, port: Int) { self.host = host; self.port = port }
        public var listenHost: String { bind ?? host }
    }
    public struct Postgres: Codable, Sendable, Equatable {
        public var host: String
        public var port: Int
        public var database: String
        public var user: String
        /// `disable` (the default), `require`, `verify-ca` or `verify-full` (libpq's names); the
        /// CA is the cluster's `internal_tls.ca`.
        public var tls: String?
        public init(host: String, port: Int, database: String, user: String) {
            self.host = host; self.port = port; self.database = database; self.user = user
        }
    }
    public struct Cell: Codable, Sendable, Equatable {
        public var id: Int
        public var name: String
        public var region: String
        public var postgres: Postgres
        public var redis: Endpoint
        /// `redis` is Redis's TLS port: every process shows its certificate and checks Redis's
        /// against the cluster's CA (`internal_tls`).
        public var redis_tls: Bool?
        /// The cluster's `internal_tls`, filled in when the config is loaded, so whatever has a
        /// cell knows how to reach its Redis and PostgreSQL.
        public var internal_tls: InternalTLS?
        /// Where the cell's internal API listens; only edges and operators talk to it.
        public var api: Endpoint
        /// Metrics and health (`/metrics`, `/healthz`, `/readyz`), for operators only.
        public var admin: Endpoint?
        /// The same for the relay into this cell (its lag behind each other cell).
        public var relay_admin: Endpoint?
        public var tiering: Tiering?
        /// How processes in another region reach this cell, when not directly: through the
        /// inter-region links (locally, delay proxies `make run` starts).
        public var reached_from: [String: Link]?
        /// scrypt's cost as log2 N (default 17, OWASP's recommendation); tests lower it.
        public var password_cost_log2: Int?
        public init(id: Int, name: String, region: String, postgres: Postgres, redis: Endpoint, api: Endpoint, tiering: Tiering? = nil) {
            self.id = id; self.name = name; self.region = region
            self.postgres = postgres; self.redis = redis; self.api = api; self.tiering = tiering
        }

        /// The cell's internal API and Redis as seen from `region`.
        public func api(from region: String) -> Endpoint { reached_from?[region]?.api ?? api }
        public func redis(from region: String) -> Endpoint { reached_from?[region]?.redis ?? redis }
        /// `secure`: the cluster has internal TLS (`ClusterConfig.internal_tls`).
        public func apiURL(from region: String, secure: Bool = false) -> String {
            let endpoint = api(from: region)
            return (secure ? "https" : "http") + "://\(endpoint.host == "0.0.0.0" ? "127.0.0.1" : endpoint.host):\(endpoint.port)"
        }

        /// Where the cell's archive files go (relative paths are from the working directory).
        public var archiveDirectory: String { tiering?.archive_dir ?? "var/data/archive/\(name)" }
        /// Where the cell's attachment blobs go: beside its archives unless said.
        public var blobDirectory: String { tiering?.blob_dir ?? archiveDirectory + "-blobs" }
        /// How many days a bucket stays warm before `tier run` archives it, unless a workspace says otherwise.
        public var coldAfterDays: Int { tiering?.cold_after_days ?? 90 }
        /// How many of each channel's latest messages the hot tier keeps, and for how many channels.
        public var hotMessagesPerChannel: Int { tiering?.hot_messages_per_channel ?? 100 }
        public var hotChannels: Int { tiering?.hot_channels ?? 10_000 }
        public var passwordCostLog2: Int { password_cost_log2 ?? 17 }
    }

    /// A cell's addresses as another region reaches them.
    public struct Link: Codable, Sendable, Equatable {
        public var api: Endpoint
        public var redis: Endpoint
        public init(api: Endpoint, redis: Endpoint) { self.api = api; self.redis = redis }
    }

    /// Message tiering: hot (the cell's Redis), warm (PostgreSQL), cold (archive files).
    public struct Tiering: Codable, Sendable, Equatable {
        public var archive_dir: String?
        public var blob_dir: String?
        public var cold_after_days: Int?
        public var hot_messages_per_channel: Int?
        public var hot_channels: Int?
        /// Archives and blobs in an S3-compatible bucket instead of the directories above.
        public var object_store: ObjectStore?
        public init(archiveDir: String? = nil, coldAfterDays: Int? = nil, hotMessagesPerChannel: Int? = nil, hotChannels: Int? = nil) {
            archive_dir = archiveDir; cold_after_days = coldAfterDays
            hot_messages_per_channel = hotMessagesPerChannel; hot_channels = hotChannels
        }
    }
    /// An S3-compatible bucket (AWS, MinIO, Ceph, Garage, R2…); the keys come from the
    /// environment (`CONCORD_S3_ACCESS_KEY`, `CONCORD_S3_SECRET_KEY`), never from this file.
    public struct ObjectStore: Codable, Sendable, Equatable {
        /// The service's base URL, used path-style: `{endpoint}/{bucket}/{key}`.
        public var endpoint: String
        public var region: String?
        public var bucket: String
        /// Put before every key the cell writes (default `{cell name}/`); archives go under
        /// `{prefix}archive/`, attachment blobs under `{prefix}blobs/`.
        public var prefix: String?
        public init(endpoint: String, region: String? = nil, bucket: String, prefix: String? = nil) {
            self.endpoint = endpoint; self.region = region; self.bucket = bucket; self.prefix = prefix
        }
        public var regionName: String { region ?? "us-east-1" }
    }
    /// TLS between Concord's own processes (edge → cell, relay → cell, cell → cell): each checks
    /// the other's certificate against `ca` and shows its own (mutual TLS, on top of the
    /// internal secret).
    public struct InternalTLS: Codable, Sendable, Equatable {
        /// The PEM file of the CA that signed every process's certificate.
        public var ca: String
        /// Each process's certificate and key, by its name: `{name}.pem` and `{name}-key.pem`
        /// for cells, edges and relays, `concordctl.pem` for the operator's tool.
        public var directory: String
        public init(ca: String, directory: String) { self.ca = ca; self.directory = directory }
        public func certificate(for process: String) -> String { directory + "/" + process + ".pem" }
        public func key(for process: String) -> String { directory + "/" + process + "-key.pem" }
    }
    /// A certificate and key in PEM files (reloaded when they change).
    public struct CertificateFiles: Codable, Sendable, Equatable {
        public var certificate: String
        public var key: String
        public init(certificate: String, key: String) { self.certificate = certificate; self.key = key }
    }
    public struct Edge: Codable, Sendable, Equatable {
        public var name: String
        public var region: String
        public var listen: Endpoint
        /// HTTPS and WSS on the public listener (then `public_url` is https://).
        public var tls: CertificateFiles?
        /// Metrics and health (`/metrics`, `/healthz`, `/readyz`), for operators only.
        public var admin: Endpoint?
        /// The URL clients use to reach this edge (also the base of its gateway URL).
        public var public_url: String
        public init(name: String, region: String, listen: Endpoint, publicURL: String) {
            self.name = name; self.region = region; self.listen = listen; self.public_url = publicURL
        }
    }
    public struct RateLimits: Codable, Sendable, Equatable {
        /// Requests per second per user across all routes (Discord's global limit is 50).
        public var requests_per_second: Double
        /// Message sends per channel per user in a 5-second window (Discord: 5).
        public var message_sends_per_5s: Double
        /// Requests per user to one route and its major parameter (a channel, a workspace) in a
        /// 5-second window, for the routes without a limit of their own.
        public var route_requests_per_5s: Double?
        /// 401, 403 and 429 answers one client address may get in 10 minutes before every
        /// request from it is refused until the window ends (Discord's invalid-request limit).
        public var invalid_requests_per_10_minutes: Int?
        /// Anonymous requests per second per client address to the cheap public routes
        /// (GET /gateway, /edges, invites); a flood of them never touches login's budget.
        public var public_requests_per_second: Double?
        /// Logins and registrations per minute per client address.
        public var auth_requests_per_minute: Double?
        /// Login attempts per minute per account name, whoever makes them (brute force).
        public var logins_per_minute_per_account: Double?
        /// Connections one client address may hold open to an edge at once (HTTP and gateway).
        public var connections_per_address: Int?
        /// Gateway sockets one address may hold before they identify (or resume).
        public var unidentified_sockets_per_address: Int?
        public init(requestsPerSecond: Double, messageSendsPer5s: Double, publicRequestsPerSecond: Double? = nil,
                    authRequestsPerMinute: Double? = nil, loginsPerMinutePerAccount: Double? = nil) {
            requests_per_second = requestsPerSecond
            message_sends_per_5s = messageSendsPer5s
            public_requests_per_second = publicRequestsPerSecond
            auth_requests_per_minute = authRequestsPerMinute
            logins_per_minute_per_account = loginsPerMinutePerAccount
        }
        public static let discord = RateLimits(requestsPerSecond: 50, messageSendsPer5s: 5)
        public var publicPerSecond: Double { public_requests_per_second ?? 20 }
        public var routeRequestsPer5s: Double { route_requests_per_5s ?? 50 }
        public var invalidRequestsPer10Minutes: Int { invalid_requests_per_10_minutes ?? 10_000 }
        public var authPerMinute: Double { auth_requests_per_minute ?? 30 }
        public var loginsPerMinute: Double { logins_per_minute_per_account ?? 10 }
        public var connectionsPerAddress: Int { connections_per_address ?? 256 }
        public var unidentifiedSocketsPerAddress: Int { unidentified_sockets_per_address ?? 64 }
    }

    public var regions: [String]
    public var cells: [Cell]
    public var edges: [Edge]
    public var rate_limits: RateLimits?
    public var internal_tls: InternalTLS?
    /// Hours the outbox keeps published rows so late consumers can read them back (≥ 24).
    public var outbox_retention_hours: Double?
    /// How long a user stays online after their sessions' last refresh (default 60 s: about
    /// 1.5 heartbeat intervals); edges refresh every third of it.
    public var presence_ttl_seconds: Double?
    /// An event for at least this many of one edge's gateway sessions is routed on all of the
    /// edge's event loops at once (default 1,024): a large fan-out's last session waits for
    /// a part of the routing, not all of it.
    public var gateway_parallel_fanout: Int?
    public static let defaultGatewayParallelFanout = 1_024
    public var gatewayParallelFanout: Int { gateway_parallel_fanout ?? Self.defaultGatewayParallelFanout }
    /// Seconds a compressed gateway socket sends nothing before the edge frees its zlib context
    /// (default 10; a new one carries the stream on at its next frame). Lower saves memory on
    /// edges of many quiet sessions; higher keeps more sessions' compression history.
    public var gateway_compression_idle_seconds: Double?
    public static let defaultGatewayCompressionIdleSeconds = 10.0
    public var gatewayCompressionIdleSeconds: Double { gateway_compression_idle_seconds ?? Self.defaultGatewayCompressionIdleSeconds }
    /// One-way delay of the local inter-region links (`make run` starts a delay proxy for each
    /// `reached_from` address, forwarding to the cell's own).
    public var inter_region_delay_ms: Double?
    /// Addresses of reverse proxies in front of the edges: only their X-Forwarded-For is
    /// believed when rate-limiting by client address.
    public var trusted_proxies: [String]?
    /// Bytes of files one message request may upload (default Discord's 10 MiB).
    public var max_upload_bytes: Int?

    public var uploadBytes: Int { max_upload_bytes ?? Limits.uploadBytes }

    public init(regions: [String], cells: [Cell], edges: [Edge], rateLimits: RateLimits? = nil) {
        self.regions = regions
        self.cells = cells
        self.edges = edges
        self.rate_limits = rateLimits
    }

    public static func load(path: String) throws -> ClusterConfig {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var config = try JSONDecoder().decode(ClusterConfig.self, from: data)
        try config.check()
        for index in config.cells.indices where config.cells[index].internal_tls == nil { config.cells[index].internal_tls = config.internal_tls }
        return config
    }

    public func check() throws {
        struct Invalid: Error, CustomStringConvertible { let description: String }
        if cells.isEmpty { throw Invalid(description: "cluster config names no cells") }
        var seen = Set<Int>()
        for cell in cells {
            guard (0...Snowflake.maxCellID).contains(cell.id) else { throw Invalid(description: "cell id \(cell.id) is outside 0...\(Snowflake.maxCellID)") }
            guard seen.insert(cell.id).inserted else { throw Invalid(description: "cell id \(cell.id) appears twice") }
            guard regions.contains(cell.region) else { throw Invalid(description: "cell \(cell.name) names unknown region \(cell.region)") }
        }
        for edge in edges where !regions.contains(edge.region) {
            throw Invalid(description: "edge \(edge.name) names unknown region \(edge.region)")
        }
        if let h = outbox_retention_hours, h < 24 { throw Invalid(description: "outbox_retention_hours must be at least 24") }
        if let bytes = max_upload_bytes, bytes < 1 { throw Invalid(description: "max_upload_bytes must be positive") }
    }

    public func cell(id: Int) -> Cell? { cells.first { $0.id == id } }
    public func cell(named name: String) -> Cell? { cells.first { $0.name == name } }
    public func edge(named name: String) -> Edge? { edges.first { $0.name == name } }
}

/// Secrets every process of a cluster shares, from the environment (never from the repo):
/// `CONCORD_TOKEN_SECRET` signs tokens, `CONCORD_INTERNAL_SECRET` authenticates edge→cell calls,
/// `CONCORD_PG_PASSWORD` is the cells' database password.
public struct ClusterSecrets: Sendable {
    public var tokenSecret: [UInt8]
    public var internalSecret: String
    public var postgresPassword: String?
    /// Every Redis of the cluster asks for it (AUTH); nil only where Redis has no password (tests).
    /// Redis's default user's: operators' tools use it, and processes whose role has no user.
    public var redisPassword: String?
    /// The passwords of the roles' ACL users (`RedisRole`), where Redis has them.
    public var redisRolePasswords: [RedisRole: String] = [:]
    /// The object store's access key pair, where a cell keeps its files in one.
    public var objectStoreKeys: (access: String, secret: String)?

    public init(tokenSecret: [UInt8], internalSecret: String, postgresPassword: String?, redisPassword: String? = nil,
                objectStoreKeys: (access: String, secret: String)? = nil, redisRolePasswords: [RedisRole: String] = [:]) {
        self.tokenSecret = tokenSecret
        self.internalSecret = internalSecret
        self.postgresPassword = postgresPassword
        self.redisPassword = redisPassword
        self.objectStoreKeys = objectStoreKeys
        self.redisRolePasswords = redisRolePasswords
    }

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> ClusterSecrets {
        struct Missing: Error, CustomStringConvertible { let description: String }
        guard let token = env["CONCORD_TOKEN_SECRET"], token.utf8.count >= 32 else {
            throw Missing(description: "CONCORD_TOKEN_SECRET must be set (at least 32 characters)")
        }
        guard let internalSecret = env["CONCORD_INTERNAL_SECRET"], internalSecret.utf8.count >= 32 else {
            throw Missing(description: "CONCORD_INTERNAL_SECRET must be set (at least 32 characters)")
        }
        return ClusterSecrets(tokenSecret: Array(token.utf8), internalSecret: internalSecret, postgresPassword: env["CONCORD_PG_PASSWORD"],
                              redisPassword: env["CONCORD_REDIS_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 },
                              objectStoreKeys: objectStoreKeys(env), redisRolePasswords: redisRolePasswords(env))
    }

    public static func redisRolePasswords(_ env: [String: String]) -> [RedisRole: String] {
        Dictionary(uniqueKeysWithValues: RedisRole.allCases.compactMap { role in
            env[role.passwordVariable].flatMap { $0.isEmpty ? nil : (role, $0) }
        })
    }

    /// How a process of `role` logs in to Redis: as its role's user where it has a password,
    /// else as the default user.
    public func redis(_ role: RedisRole) -> RedisCredentials? {
        if let password = redisRolePasswords[role] { return RedisCredentials(user: role.user, password: password) }
        return redisPassword.map { RedisCredentials(user: nil, password: $0) }
    }

    /// Only the object store's keys, for the operator's commands that need no other secret.
    public static func objectStoreKeys(_ env: [String: String] = ProcessInfo.processInfo.environment) -> (access: String, secret: String)? {
        guard let access = env["CONCORD_S3_ACCESS_KEY"], let secret = env["CONCORD_S3_SECRET_KEY"] else { return nil }
        return (access, secret)
    }
}
