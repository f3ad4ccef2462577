import AsyncHTTPClient
import ConcordAuth
import ConcordGateway
import ConcordModels
import ConcordRedis
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// The edge's gateway: its sessions, and the two-level subscription to the cells' Redis.
/// The edge subscribes to a workspace's topic only while one of its sessions is in that
/// workspace; the cell never learns who the members are. An event is serialized once (by the
/// cell) and spliced into each recipient's frame.
final class GatewayHub: Sendable {
    struct Registry {
        var sessions: [String: GatewayConnection] = [:]
        var byGuild: [Snowflake: Set<String>] = [:]
        var byUser: [Snowflake: Set<String>] = [:]
    }

    let directory: CellDirectory
    let tokens: TokenAuthority
    let internalSecret: String
    let http: HTTPClient
    let publicGatewayURL: String
    let logger: Logger
    let resumeWindow: Double
    private let registry = Mutex(Registry())
    private let subscribers: [Int: RedisSubscriber]
    /// The highest outbox sequence delivered from each cell: repeats are dropped, and after a
    /// Redis drop everything above it is read back from the cell's outbox.
    private let delivered = Mutex<[Int: Int64]>([:])

    init(directory: CellDirectory, tokens: TokenAuthority, internalSecret: String, http: HTTPClient,
         publicGatewayURL: String, resumeWindow: Double = 60, logger: Logger) {
        self.directory = directory
        self.tokens = tokens
        self.internalSecret = internalSecret
        self.http = http
        self.publicGatewayURL = publicGatewayURL
        self.resumeWindow = resumeWindow
        self.logger = logger
        var subscribers: [Int: RedisSubscriber] = [:]
        for entry in directory.all {
            subscribers[entry.cell.id] = RedisSubscriber(host: entry.cell.redis.host, port: entry.cell.redis.port, logger: logger)
        }
        self.subscribers = subscribers
    }

    /// Keeps each cell's subscription connected and routes what arrives; also expires
    /// sessions whose resume window has passed.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            for (cellID, subscriber) in subscribers {
                group.addTask { await subscriber.run() }
                group.addTask { [self] in
                    // Live messages wait in the subscriber's stream while a read-back runs, so
                    // delivery stays in sequence order.
                    for await event in subscriber.events {
                        switch event {
                        case .message(_, let payload): receive(payload, cell: cellID)
                        case .connected(resumed: false): await startFeed(cell: cellID)
                        case .connected(resumed: true): await readBack(cell: cellID)
                        }
                    }
                }
            }
            group.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(5))
                    expireDetached(now: ProcessInfo.processInfo.systemUptime)
                }
            }
            await group.waitForAll()
        }
    }

    private func receive(_ payload: [UInt8], cell: Int) {
        guard let event = OutboxEvent(wireJSON: payload) else { return }
        if event.seq > 0 {
            let fresh = delivered.withLock { d -> Bool in
                guard event.seq > d[cell, default: 0] else { return false }
                d[cell] = event.seq
                return true
            }
            guard fresh else { return }
        }
        route(event)
    }

    /// Notes where the cell's outbox stands when the subscription first comes up.
    private func startFeed(cell: Int) async {
        guard let head = try? await cellJSON(cell, path: "/internal/outbox/head")?["seq"]?.intValue else { return }
        delivered.withLock { d in if d[cell] == nil { d[cell] = head } }
    }

    /// After a Redis drop: reads back from the cell's outbox everything after the last
    /// delivered sequence (pub/sub does not buffer), before any newer live event.
    private func readBack(cell: Int) async {
        while true {
            let after = delivered.withLock { $0[cell, default: 0] }
            guard let page = try? await cellJSON(cell, path: "/internal/outbox?after=\(after)&limit=500")?.arrayValue else {
                logger.warning("outbox read-back failed", metadata: ["cell": "\(cell)"])
                return
            }
            for item in page {
                if let data = try? WireJSON.encode(item) { receive(Array(data), cell: cell) }
            }
            if page.count < 500 { return }
        }
    }

    func cellJSON(_ cell: Int, path: String, authorization: String? = nil) async throws -> JSONValue? {
        try await cellGet(cell, path: path, authorization: authorization).map { try WireJSON.decode(JSONValue.self, from: $0) }
    }

    /// A GET on a cell's API with the internal secret (and a caller's token when acting for one);
    /// nil unless the cell answers 200.
    func cellGet(_ cell: Int, path: String, authorization: String?) async throws -> Data? {
        guard let entry = directory.entry(for: cell) else { return nil }
        var request = HTTPClientRequest(url: entry.baseURL + path)
        request.headers.add(name: "X-Concord-Internal", value: internalSecret)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let response = try await http.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 64 << 20)
        return response.status == .ok ? Data(body.readableBytesView) : nil
    }

    private func route(_ event: OutboxEvent) {
        let e = event.event
        let targets: [GatewayConnection] = registry.withLock { r in
            let ids = e.userID.map { r.byUser[$0] ?? [] } ?? e.guildID.map { r.byGuild[$0] ?? [] } ?? []
            return ids.compactMap { r.sessions[$0] }
        }
        var rule = MessageContentRule(type: e.type, payload: e.payload)
        for connection in targets {
            if let guild = e.guildID, e.userID != nil {
                // Events addressed to one user change which workspaces their sessions follow.
                if e.type == "GUILD_CREATE" { follow(connection, guild: guild) }
                if e.type == "GUILD_DELETE" { unfollow(connection, guild: guild) }
            }
            let (user, isBot, intents) = connection.state.withLock { ($0.userID, $0.isBot, $0.machine.intents) }
            connection.deliver(e.type, data: user.map { rule.payload(for: $0, isBot: isBot, intents: intents) } ?? e.payload)
        }
    }

    // MARK: Sessions

    func register(_ connection: GatewayConnection, sessionID: String, userID: Snowflake, guilds: [Snowflake]) async {
        registry.withLock { r in
            r.sessions[sessionID] = connection
            r.byUser[userID, default: []].insert(sessionID)
        }
        await subscribe(Topics.user(userID, cell: cellName(userID.cell)), cell: userID.cell)
        for guild in guilds { follow(connection, guild: guild) }
    }

    func follow(_ connection: GatewayConnection, guild: Snowflake) {
        guard let id = connection.sessionID else { return }
        connection.state.withLock { _ = $0.guilds.insert(guild) }
        let first = registry.withLock { r -> Bool in
            let wasEmpty = r.byGuild[guild, default: []].isEmpty
            r.byGuild[guild, default: []].insert(id)
            return wasEmpty
        }
        if first { Task { await subscribe(Topics.workspace(guild, cell: cellName(guild.cell)), cell: guild.cell) } }
    }

    func unfollow(_ connection: GatewayConnection, guild: Snowflake) {
        guard let id = connection.sessionID else { return }
        connection.state.withLock { _ = $0.guilds.remove(guild) }
        let last = registry.withLock { r -> Bool in
            r.byGuild[guild]?.remove(id)
            if r.byGuild[guild]?.isEmpty == true { r.byGuild[guild] = nil; return true }
            return false
        }
        if last { Task { try? await subscribers[guild.cell]?.unsubscribe(Topics.workspace(guild, cell: cellName(guild.cell))) } }
    }

    private func subscribe(_ topic: String, cell: Int) async {
        do { try await subscribers[cell]?.subscribe(topic) } catch {
            logger.warning("subscribe failed", metadata: ["topic": "\(topic)", "error": "\(error)"])
        }
    }

    private func cellName(_ id: Int) -> String { directory.entry(for: id)?.cell.name ?? "cell-\(id)" }

    /// A dropped session stays registered (still numbering and keeping events) until its
    /// resume window passes.
    func detach(_ connection: GatewayConnection, now: Double) {
        connection.state.withLock { s in
            s.writer = nil
            s.detachedUntil = now + resumeWindow
        }
    }

    /// Draining: every attached session is told to reconnect (op 7), then its socket is closed
    /// with 4000, which clients answer by reconnecting and resuming.
    func drain() {
        let all = registry.withLock { Array($0.sessions.values) }
        for connection in all {
            connection.send(.frame(ServerFrame.reconnect))
            connection.send(.close(.unknownError))
        }
    }

    func resumable(_ sessionID: String) -> GatewayConnection? {
        registry.withLock { $0.sessions[sessionID] }
    }

    private func expireDetached(now: Double) {
        let expired = registry.withLock { r -> [(String, GatewayConnection)] in
            r.sessions.filter { _, c in c.state.withLock { ($0.detachedUntil ?? .infinity) < now } }.map { ($0.key, $0.value) }
        }
        for (id, connection) in expired { remove(id, connection) }
    }

    func remove(_ sessionID: String, _ connection: GatewayConnection) {
        let guilds = connection.guilds
        let user = connection.userID
        registry.withLock { r in
            r.sessions[sessionID] = nil
            if let user { r.byUser[user]?.remove(sessionID); if r.byUser[user]?.isEmpty == true { r.byUser[user] = nil } }
        }
        for guild in guilds { unfollow(connection, guild: guild) }
    }

    // MARK: Cell calls

    /// The user's READY state from their cell.
    func readyState(authorization: String, cell: Int) async throws -> ReadyState {
        guard let body = try await cellGet(cell, path: "/internal/gateway/ready", authorization: authorization) else { throw APIError.unauthorized }
        return try WireJSON.decode(ReadyState.self, from: body)
    }
}
