import AsyncHTTPClient
import CoreMetrics
import ConcordAuth
import ConcordHTTP
import ConcordModels
import ConcordObservability
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOSSL
import NIOHTTP1
import Synchronization

/// The public REST API of one edge. Per request: match the route, verify the token (HMAC,
/// no database), check that it is not revoked and count it in its rate-limit windows (one
/// round trip to the home cell's Redis), validate the body, then forward to the cell that owns
/// the route in one internal HTTP call and pass its answer through. The edge keeps no state
/// that matters: kill it and nothing is lost.
public final class EdgeAPI: Sendable {
    let directory: CellDirectory
    let tokens: TokenAuthority
    let limiter: RateLimiter
    /// 429s answered since start (a library's own limiter, reading the headers, should meet none).
    public let rateLimitedAnswers = Atomic<Int>(0)
    let limits: ClusterConfig.RateLimits
    let addresses: ClientAddress
    let http: HTTPClient
    let cells: CellClient
    let gatewayURL: String
    /// This edge's URL as clients reach it; files uploaded here are served under it.
    let publicURL: String
    /// Bytes of files one message request may upload.
    let uploadBytes: Int
    let links: AttachmentLinks
    let region: String
    let edges: [EdgeListing]
    let gateway: GatewayHub
    let webApp: WebApp
    public let metrics: NodeMetrics
    let cellCalls: CoreMetrics.Counter
    let cellCallDuration: CoreMetrics.Timer
    let replicaHints = ReplicaHints()
    let logger: Logger

    public init(directory: CellDirectory, tokens: TokenAuthority, internalSecret: String,
                limits: ClusterConfig.RateLimits, trustedProxies: [String] = [], publicURL: String, region: String = "local", edges: [EdgeListing] = [],
                webApp: WebApp = WebApp(root: WebApp.defaultRoot), uploadBytes: Int = Limits.uploadBytes,
                presenceTTL: Double = 60, parallelFanout: Int = ClusterConfig.defaultGatewayParallelFanout,
                compressionIdleSeconds: Double = ClusterConfig.defaultGatewayCompressionIdleSeconds, metrics: NodeMetrics = NodeMetrics(),
                cellTLS: TLSConfiguration? = nil,
                logger: Logger = Logger(label: "concord.edge"),
                clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        limiter = RateLimiter(clock: clock)
        self.webApp = webApp
        self.metrics = metrics
        cellCalls = metrics.counter(.edgeCellCalls)
        cellCallDuration = metrics.timer(.edgeCellCallDuration)
        self.directory = directory
        self.tokens = tokens
        self.limits = limits
        addresses = ClientAddress(trustedProxies: Set(trustedProxies))
        self.region = region
        self.edges = edges
        self.publicURL = publicURL
        self.uploadBytes = uploadBytes
        links = AttachmentLinks(tokens: tokens)
        var config = CellClient.configuration(tls: cellTLS)
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        config.timeout = .init(connect: .seconds(2), read: .seconds(30))
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config)
        cells = CellClient(http: http, secret: internalSecret, tls: cellTLS, logger: logger)
        gatewayURL = publicURL.replacingOccurrences(of: "http://", with: "ws://")
            .replacingOccurrences(of: "https://", with: "wss://") + "/gateway"
        gateway = GatewayHub(directory: directory, tokens: tokens, cells: cells,
                             publicGatewayURL: gatewayURL, presenceTTL: presenceTTL, parallelFanout: parallelFanout,
                             compressionIdleSeconds: compressionIdleSeconds,
                             unidentifiedPerAddress: limits.unidentifiedSocketsPerAddress, metrics: metrics, logger: logger)
        self.logger = logger
    }

    public func shutdown() async {
        cells.shutdown()
        try? await http.shutdown()
        for entry in directory.all { await entry.redis.close() }
    }

    /// - Parameter peer: the address the request came from (its socket's remote address).
    public func respond(_ request: Request, peer: String? = nil) async -> Response {
        let id = RequestID.from(request.headers[.requestID], traceparent: request.headers[.traceparent])
        var response = await RequestID.$current.withValue(id) { await respondIdentified(request, peer: peer) }
        response.headers[.requestID] = id
        return response
    }

    private func respondIdentified(_ request: Request, peer: String?) async -> Response {
        let start = ContinuousClock.now
        if request.method == .get || request.method == .head, request.uri.path.hasPrefix("/attachments/") {
            let response = await attachment(request)
            metrics.request(route: "attachment", status: response.status.code, duration: ContinuousClock.now - start)
            return response
        }
        if request.method == .get || request.method == .head, let page = webApp.response(path: request.uri.path, headers: request.headers) {
            return page
        }
        let client = addresses.resolve(peer: peer, forwardedFor: request.headers[.forwardedFor])
        var label = "unmatched"
        var bucket: BucketState?
        var response = if let refusal = invalidRequestRefusal(client) { refusal } else {
            await answer(request, client: client, label: &label, bucket: &bucket)
        }
        bucket?.describe(in: &response.headers)
        if response.status.code == 429 { logger.debug("rate limited", metadata: ["route": "\(label)"]) }
        countIfInvalid(response, client: client)
        metrics.request(route: label, status: response.status.code, duration: ContinuousClock.now - start)
        return response
    }

    private func answer(_ request: Request, client: String, label: inout String, bucket: inout BucketState?) async -> Response {
        var request = request
        do {
            let route = try RouteTable.match(method: request.method.rawValue, path: request.uri.path)
            label = route.endpoint.rawValue
            // An oversized body is refused before anything else reads or counts it.
            let form = try await MessageForm(&request, route: route, uploadBytes: uploadBytes)
            let body = form.json
            if !form.raw.isEmpty, !form.isMultipart, !Self.declaresJSON(request.headers[.contentType]) { throw APIError.unsupportedMediaType }
            var claims: TokenClaims?
            if !route.endpoint.isPublic || request.headers[.authorization] != nil && route.endpoint != .register && route.endpoint != .login {
                let admitted = try await authenticateAndCount(route, authorization: request.headers[.authorization])
                (claims, bucket) = (admitted.0, admitted.1)
            } else {
                try limitAnonymous(route, client: client, body: body)
            }
            switch route.endpoint {
            case .getGateway:
                return try JSONResponse.ok(["url": gatewayURL, "region": region])
            case .listEdges:
                return try JSONResponse.ok(edges)
            case .getGatewayBot:
                guard let claims, claims.isBot else { throw APIError.unauthorized }
                return try JSONResponse.ok(GatewayBotResponse(url: gatewayURL, session_start_limit: await gateway.sessionStartLimit(claims)))
            case .listCommands, .overwriteCommands, .listGuildCommands, .overwriteGuildCommands:
                return try applicationCommands(route, claims: claims, body: body)
            case .listDefaultSounds:
                return try JSONResponse.ok([JSONValue]())
            default:
                break
            }
            try route.endpoint.spec.body.check(body)
            return try await forward(request, route: route, claims: claims, body: form.raw,
                                     contentType: form.isMultipart ? form.contentType ?? "application/json" : "application/json")
        } catch let limited as RouteLimited {
            return limited.response
        } catch let error as APIError {
            return JSONResponse.error(error)
        } catch {
            logger.error("edge request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)", "request_id": "\(RequestID.current ?? "")"])
            return JSONResponse.error(.internalError)
        }
    }

    /// Concord has no application commands: an application reads an empty list, and may set
    /// it to empty; declaring commands is refused rather than pretended.
    private func applicationCommands(_ route: Route, claims: TokenClaims?, body: Data) throws -> Response {
        guard let claims, claims.isBot, claims.userID == route.userID else { throw APIError.missingAccess }
        try route.endpoint.spec.body.check(body)
        if route.endpoint == .overwriteCommands || route.endpoint == .overwriteGuildCommands,
           try WireJSON.decodeBody([JSONValue].self, from: body).isEmpty == false {
            throw APIError.commandsUnsupported
        }
        return try JSONResponse.ok([JSONValue]())
    }

    /// `application/json`, with or without parameters (`; charset=utf-8`).
    /// Compared byte by byte: Foundation's trimming and lowercasing cost more than the rest of
    /// the header handling of a send.
    static func declaresJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let blank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        let type = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }.drop(while: blank).reversed().drop(while: blank).reversed()
        let expected = "application/json".utf8
        // An ASCII letter differs from its capital by bit 0x20 alone.
        let isLetter: (UInt8) -> Bool = { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
        return type.count == expected.count && zip(type, expected).allSatisfy { $0 == $1 || (isLetter($1) && $0 | 0x20 == $1) }
    }

    /// `contentType`: the body's (a message with files is handed on as the multipart form it came as).
    func forward(_ request: Request, route: Route, claims: TokenClaims?, body: Data, contentType: String = "application/json") async throws -> Response {
        // Lists about the caller span every cell holding one of their workspaces: ask all, merge.
        if let claims, route.endpoint == .getCurrentUserGuilds || route.endpoint == .getReadStates {
            return try await gathered(request, claims: claims)
        }
        // A channel of another cell may be shared into a workspace of the caller's own cell,
        // whose replica serves reads, read states and typing locally and hands writes to the
        // channel's home. Where the edge has learnt which (`replicaHints`), the request goes
        // there in one hop; else the caller's cell is asked first, then the home. (Channels of
        // moved workspaces are never shared: they go straight to their home.)
        var replicaOf: (channel: Snowflake, cell: Int)?
        if let claims, let channel = route.channelID, channel.cell != claims.userID.cell, directory.moves.entry(channel.description) == nil,
           route.endpoint.spec.servedByReplica {
            replicaOf = (channel, claims.userID.cell)
            if replicaHints.servedLocally(channel, for: claims.userID.cell) != false, let reply = try await askReplica(request, of: channel,
                                                                                                                   cell: claims.userID.cell, body: body,
                                                                                                                   contentType: contentType) {
                return reply
            }
        }
        if let claims, route.endpoint == .createDM { return try await openDM(request, claims: claims, body: body) }
        let (method, path, auth) = (HTTPMethod(rawValue: request.method.rawValue), request.uri.description, request.headers[.authorization])
        guard var cell = directory.owner(of: route, caller: claims?.userID) else {
            throw route.guildID != nil ? APIError.unknownGuild : route.inviteCode != nil ? APIError.unknownInvite
                : route.channelID != nil ? APIError.unknownChannel : APIError.unknownUser
        }
        let reason = request.headers[.auditLogReason]
        var reply = try await send(to: cell, method: method, path: path, authorization: auth, body: body, contentType: contentType, reason: reason)
        // The workspace has moved (this edge's directory was behind): learn where, and go there.
        for _ in 0..<2 where reply.refusal == .moved {
            await gateway.reloadDirectory(from: cell.cell.id)
            guard let moved = directory.owner(of: route, caller: claims?.userID), moved.cell.id != cell.cell.id else { break }
            cell = moved
            reply = try await send(to: cell, method: method, path: path, authorization: auth, body: body, contentType: contentType, reason: reason)
        }
        // Refused at the home where the edge thought no replica served the caller: one may since
        // (the channel was shared into their workspace); their cell decides.
        if let (channel, local) = replicaOf, replicaHints.servedLocally(channel, for: local) == false, Self.isElsewhere(reply),
           let replica = try await askReplica(request, of: channel, cell: local, body: body, contentType: contentType) {
            return replica
        }
        // A cell that lacks the caller's profile (they are homed elsewhere and join one of its
        // workspaces) gets a copy from the home cell, then the request again.
        if reply.refusal == .profileNotHere, let claims, claims.userID.cell != cell.cell.id {
            try await copyProfile(of: claims.userID, to: cell)
            reply = try await send(to: cell, method: method, path: path, authorization: auth, body: body, contentType: contentType, reason: reason)
        }
        // People are homed in the cell of the region where they signed up: a login this edge's
        // cell does not know is tried in the other cells (usernames are unique within a cell;
        // the password decides).
        if route.endpoint == .login, reply.refusal == .unknownLogin {
            for other in directory.all.sorted(by: { $0.cell.id < $1.cell.id }) where other.cell.id != cell.cell.id {
                let attempt = try await send(to: other, method: method, path: path, authorization: nil, body: body)
                if attempt.status == 200 { return JSONResponse.ok(attempt.body) }
            }
        }
        if reply.status == 204 { return JSONResponse.noContent() }
        return JSONResponse.ok(reply.body, status: HTTPResponse.Status(code: reply.status))
    }

    /// The caller's cell's answer for a channel it may hold a replica of, or nil when it says
    /// the channel is not served there (and the edge remembers which it was).
    private func askReplica(_ request: Request, of channel: Snowflake, cell: Int, body: Data, contentType: String) async throws -> Response? {
        guard let local = directory.entry(for: cell) else { return nil }
        let reply = try await send(to: local, method: HTTPMethod(rawValue: request.method.rawValue), path: request.uri.description,
                                   authorization: request.headers[.authorization], body: body, contentType: contentType,
                                   reason: request.headers[.auditLogReason])
        let elsewhere = Self.isElsewhere(reply)
        replicaHints.record(channel, for: cell, servedLocally: !elsewhere)
        return elsewhere ? nil : JSONResponse.ok(reply.body, status: HTTPResponse.Status(code: reply.status))
    }

    /// Not here, or here but not through the caller's workspaces: another cell decides.
    static func isElsewhere(_ reply: CellReply) -> Bool {
        reply.refusal == .moved || reply.refusal == .notServedHere
    }

    /// One request of the public API to a cell, with the caller's token; a cell that cannot be
    /// reached is a 503. `reason`: the request's X-Audit-Log-Reason, for the cell's audit log.
    func send(to cell: CellDirectory.Entry, method: HTTPMethod, path: String, authorization: String?, body: Data = Data(),
              contentType: String = "application/json", reason: String? = nil) async throws -> CellReply {
        cellCalls.increment()
        let started = ContinuousClock.now
        defer { cellCallDuration.recordNanoseconds((ContinuousClock.now - started).nanoseconds) }
        return try await cells.send(InternalAPI.api(method: method.rawValue, path: path, authorization: authorization, body: body,
                                                    contentType: contentType, reason: reason, edgeURL: publicURL), to: cell.baseURL)
    }

    /// A DM is homed in the cell of its lower user id, whoever opens it. That cell needs both
    /// users' profiles: when it lacks one (it answers 409 or unknown user), they are copied
    /// from their home cells and the request made again.
    func openDM(_ request: Request, claims: TokenClaims, body: Data) async throws -> Response {
        let recipient = try WireJSON.decodeBody(DMCreateRequest.self, from: body).recipient_id
        let homeID = DMChannel.homeCell(claims.userID, recipient)
        guard let home = directory.entry(for: homeID) else { throw APIError.unknownUser }
        let (path, auth) = (request.uri.description, request.headers[.authorization])
        var reply = try await send(to: home, method: .POST, path: path, authorization: auth, body: body)
        if reply.refusal == .profileNotHere || reply.refusal == .unknownUser {
            for user in Set([claims.userID, recipient]) where user.cell != homeID { try await copyProfile(of: user, to: home) }
            reply = try await send(to: home, method: .POST, path: path, authorization: auth, body: body)
        }
        return JSONResponse.ok(reply.body, status: HTTPResponse.Status(code: reply.status))
    }

    /// Copies a user's profile from their home cell to another cell.
    func copyProfile(of user: Snowflake, to cell: CellDirectory.Entry) async throws {
        guard let home = directory.entry(for: user.cell) else { throw APIError.unknownUser }
        let profile: Data
        do { profile = try await cells.send(InternalAPI.profile(of: user), to: home.baseURL) } catch let error as APIError where error.status != 503 {
            throw APIError.unknownUser
        }
        try await cells.send(InternalAPI.storeProfile(of: user, profile), to: cell.baseURL)
    }

    /// The same GET asked of every cell at once; their JSON arrays concatenated. The home cell
    /// must answer; another cell that cannot is left out (its workspaces are missing until it is back).
    func gathered(_ request: Request, claims: TokenClaims) async throws -> Response {
        let (path, auth) = (request.uri.description, request.headers[.authorization])
        let replies = await withTaskGroup(of: (Int, CellReply?).self) { group in
            for cell in directory.all {
                group.addTask { (cell.cell.id, try? await self.send(to: cell, method: .GET, path: path, authorization: auth)) }
            }
            return await group.reduce(into: [(Int, CellReply?)]()) { $0.append($1) }
        }
        var parts: [(cell: Int, items: [JSONValue])] = []
        for (cell, reply) in replies.sorted(by: { $0.0 < $1.0 }) {
            guard let reply, reply.status == 200, let items = try? WireJSON.decode([JSONValue].self, from: reply.body) else {
                if cell == claims.userID.cell { throw APIError.serviceUnavailable }
                logger.warning("a cell's part of a gathered list is missing", metadata: ["cell": "\(cell)"])
                continue
            }
            parts.append((cell, items))
        }
        // While a workspace moves, both cells may list it (or its channels' read states) for a moment.
        let items = directory.moves.keepHomeCopies(parts) { $0["id"]?.stringValue.flatMap(Snowflake.init) }.flatMap(\.items)
        return JSONResponse.ok(try WireJSON.encode(items))
    }
}

/// One entry of `GET /edges`: where a client can connect, and in which region.
public struct EdgeListing: Codable, Sendable, Equatable {
    public var name: String
    public var region: String
    public var url: String
    public init(name: String, region: String, url: String) {
        self.name = name; self.region = region; self.url = url
    }
}

/// `GET /gateway/bot`'s answer.
struct GatewayBotResponse: Codable {
    var url: String
    var shards = 1
    var session_start_limit: GatewayHub.SessionStartLimit
}
