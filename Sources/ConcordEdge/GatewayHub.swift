import AsyncHTTPClient
import ConcordAuth
import ConcordGateway
import ConcordHTTP
import ConcordModels
import ConcordObservability
import CoreMetrics
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
        /// The indexes below hold the sessions themselves (by session id), so routing an event
        /// to a workspace's thousand sessions looks none of them up.
        var sessions: [String: GatewayConnection] = [:]
        var byGuild: [Snowflake: [String: GatewayConnection]] = [:]
        /// The sessions of each workspace that asked for presences (GUILD_PRESENCES): a presence
        /// change in a large workspace visits these, not every session in it.
        var presenceWatchers: [Snowflake: [String: GatewayConnection]] = [:]
        var byUser: [Snowflake: [String: GatewayConnection]] = [:]
    }

    let directory: CellDirectory
    let tokens: TokenAuthority
    let cells: CellClient
    let publicGatewayURL: String
    let logger: Logger
    let resumeWindow: Double
    let registry = Mutex(Registry())
    /// One copy of each workspace's roles and overwrites for every session's visibility.
    let workspaceViews = SharedWorkspaceViews()
    /// Each workspace's GUILD_CREATE, the part every member sees alike encoded once.
    let guildCreates = GuildCreateEncodings()
    private let subscribers: [Int: RedisSubscriber]
    /// The highest outbox sequence delivered from each cell: repeats are dropped, and after a
    /// Redis drop everything above it is read back from the cell's outbox.
    private let delivered = Mutex<[Int: Int64]>([:])
    private let draining = Atomic<Bool>(false)
    /// Every open socket, for the ticker.
    let sockets = Mutex<[ObjectIdentifier: SocketBinding]>([:])
    let metrics: NodeMetrics
    let deliveries: CoreMetrics.Counter
    let presence: PresenceReporter
    let unidentified: UnidentifiedSockets
    let flushRounds = FlushRounds()
    let heapTrimmer = HeapTrimmer()
    /// The cells whose outbox position this edge's subscriber follows (see `needsReadBack`).
    private let positionsFollowed = Mutex<Set<Int>>([])
    /// Per cell: IDENTIFYs arriving together ask for READY in one call.
    private let readyBatches: [Int: Batcher<ReadyAsk, ReadyState?>]
    private let subscriptionBatches: [Int: Batcher<[String], Bool>]
    /// Revocation checks of tokens presented together (nil: the Redis could not vouch).
    let revocationChecks: Batcher<TokenClaims, Bool?>
    /// Drains' tables of frame bodies, read back once for every session resuming from them.
    private let handedOverTables: HandedOverTables
    /// Events for at least this many sessions are routed in parts side by side (`route`).
    private let parallelFanout: Int
    /// Ticks a compressed socket sends nothing before its context is freed (`SocketOutput.releaseIdleCompression`).
    let compressionIdleTicks: Int
    let compressionReleases: CoreMetrics.Counter

    init(directory: CellDirectory, tokens: TokenAuthority, cells: CellClient,
         publicGatewayURL: String, resumeWindow: Double = 60, presenceTTL: Double = 60, parallelFanout: Int = ClusterConfig.defaultGatewayParallelFanout,
         compressionIdleSeconds: Double = ClusterConfig.defaultGatewayCompressionIdleSeconds,
         unidentifiedPerAddress: Int = 64, metrics: NodeMetrics = NodeMetrics(), logger: Logger) {
        self.parallelFanout = max(1, parallelFanout)
        // The ticker counts whole seconds; a hostile or odd setting still means at least one.
        compressionIdleTicks = compressionIdleSeconds.isFinite ? max(1, Int(min(compressionIdleSeconds, 86_400).rounded(.up))) : 1
        self.directory = directory
        self.metrics = metrics
        deliveries = metrics.counter(.gatewayDeliveries)
        compressionReleases = metrics.counter(.gatewayCompressionReleases)
        unidentified = UnidentifiedSockets(perAddress: unidentifiedPerAddress)
        self.tokens = tokens
        self.cells = cells
        self.publicGatewayURL = publicGatewayURL
        self.resumeWindow = resumeWindow
        handedOverTables = HandedOverTables(keep: resumeWindow)
        self.logger = logger
        var subscribers: [Int: RedisSubscriber] = [:]
        for entry in directory.all {
            subscribers[entry.cell.id] = RedisSubscriber(host: entry.redisAddress.host, port: entry.redisAddress.port,
                                                        user: directory.redisCredentials?.user, password: directory.redisCredentials?.password, tls: entry.redisTLS, logger: logger)
        }
        self.subscribers = subscribers
        readyBatches = Dictionary(uniqueKeysWithValues: directory.all.map { entry in
            let cell = entry.cell.id
            return (cell, Batcher(lanes: 2, largestBatch: 64) { asks in
                await Self.oneCall(for: asks) { try await Self.send(try InternalAPI.ready(asks), to: cell, directory: directory, cells: cells) }
            })
        })
        revocationChecks = Batcher(lanes: 2, largestBatch: 256) { claims in
            await directory.areRevoked(claims).map { .success($0) }
        }
        subscriptionBatches = Dictionary(uniqueKeysWithValues: subscribers.map { cell, subscriber in
            (cell, Batcher<[String], Bool>(lanes: 2, largestBatch: 256) { asks in
                var seen: Set<String> = []
                let topics = asks.joined().filter { seen.insert($0).inserted }
                do {
                    let confirmed = try await subscriber.subscribe(topics)
                    return asks.map { _ in .success(confirmed) }
                } catch {
                    logger.warning("subscribe failed", metadata: ["topics": "\(topics.count)", "error": "\(error)"])
                    return asks.map { _ in .success(false) }
                }
            })
        })
        // Per cell: reports arriving together (sessions identifying together) go in one call.
        let presenceBatches = Dictionary(uniqueKeysWithValues: directory.all.map { entry in
            let cell = entry.cell.id
            return (cell, Batcher<PresenceReport, Void>(lanes: 2, largestBatch: 64) { reports in
                await Self.oneCall(for: reports) {
                    do { try await Self.send(try InternalAPI.presence(reports), to: cell, directory: directory, cells: cells) } catch {
                        logger.warning("presence report failed", metadata: ["error": "\(error)", "reports": "\(reports.count)"])
                        throw error
                    }
                    return reports.map { _ in () }
                }
            })
        })
        presence = PresenceReporter(
            ttl: presenceTTL,
            report: { report in _ = try? await presenceBatches[report.user_id.cell]?.submit(report) },
            refresh: { cell, users, expiresAt in
                // ZADD XX CH answers 0 for a user whose presence is gone (it lapsed): report it again.
                guard let entry = directory.entry(for: cell),
                      let replies = try? await entry.redis.pipeline(users.map {
                          ["ZADD", Topics.presenceExpiry(cell: entry.cell.name), "XX", "CH", String(expiresAt), $0.description]
                      }) else { return [] }
                return zip(users, replies).compactMap { user, reply in (try? reply.get())?.integer == 0 ? user : nil }
            })
    }

    /// Keeps each cell's subscription connected and routes what arrives; also expires
    /// sessions whose resume window has passed.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            for (cellID, subscriber) in subscribers {
                group.addTask { await subscriber.run() }
                group.addTask { [self] in
                    let directoryTopic = Topics.directory(cell: cellName(cellID))
                    let revocationTopic = Topics.revocations(cell: cellName(cellID))
                    let outboxTopic = Topics.outbox(cell: cellName(cellID))
                    // Live messages wait in the subscriber's stream while a read-back runs, so
                    // delivery stays in sequence order. While more messages are already waiting,
                    // sockets' flushes are held for a round of them (FlushRounds).
                    var (taken, inRound) = (0, 0)
                    for await event in subscriber.events {
                        taken += 1
                        guard case .message(let topic, let payload) = event else {
                            if inRound > 0 { flushRounds.end(); inRound = 0 }
                            if case .connected(let resumed) = event { await (resumed ? readBack(cell: cellID) : startFeed(cell: cellID)) }
                            continue
                        }
                        if inRound == 0 { flushRounds.begin() }
                        inRound += 1
                        switch topic {
                        case outboxTopic: break
                        case directoryTopic: Task { await reloadDirectory(from: cellID) }
                        case revocationTopic:
                            closeSessions(revoked: Set(String(decoding: payload, as: UTF8.self).split(separator: ",").compactMap(Snowflake.init)))
                        default: await receive(payload, cell: cellID)
                        }
                        if inRound >= FlushRounds.eventsPerRound || subscriber.yielded <= taken {
                            flushRounds.end()
                            inRound = 0
                        }
                    }
                    if inRound > 0 { flushRounds.end() }
                }
            }
            group.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(5))
                    expireDetached(now: ProcessInfo.processInfo.systemUptime)
                }
            }
            // Moves are announced on each cell's directory topic; a missed announcement (Redis
            // down) is made up by reloading now and then, and by any cell's 421.
            group.addTask { [self] in
                for (cellID, subscriber) in subscribers {
                    try? await subscriber.subscribe(Topics.directory(cell: cellName(cellID)))
                    try? await subscriber.subscribe(Topics.revocations(cell: cellName(cellID)))
                    subscriber.keepLatest(of: Topics.outbox(cell: cellName(cellID)))
                    // Confirmed on the open connection, or (none open) subscribed by every
                    // connection from the next on: either way a connection number taken from
                    // now on is one that follows the position. Not after an error.
                    if (try? await subscriber.subscribe(Topics.outbox(cell: cellName(cellID)))) != nil {
                        positionsFollowed.withLock { _ = $0.insert(cellID) }
                    }
                }
                while !Task.isCancelled {
                    for cellID in subscribers.keys.sorted() where await reloadDirectory(from: cellID) { break }
                    try? await Task.sleep(for: .seconds(10))
                }
            }
            group.addTask { [self] in await presence.run() }
            // A revocation announced while this edge's subscription was down is found here.
            group.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(15))
                    await sweepRevokedSessions()
                }
            }
            group.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    await tickAll()
                    heapTrimmer.tick()
                }
            }
            await group.waitForAll()
        }
    }

    private func receive(_ payload: [UInt8], cell: Int) async {
        guard let event = OutboxEvent(wireJSON: payload) else { return }
        if event.seq > 0 {
            let fresh = delivered.withLock { d -> Bool in
                guard event.seq > d[cell, default: 0] else { return false }
                d[cell] = event.seq
                return true
            }
            guard fresh else { return }
        }
        await route(event, cell: cell)
    }

    /// Notes where the cell's outbox stands when the subscription first comes up.
    private func startFeed(cell: Int) async {
        guard let head = try? await send(InternalAPI.outboxHead, to: cell) else { return }
        delivered.withLock { d in if d[cell] == nil { d[cell] = head } }
    }

    /// After a Redis drop: reads back from the cell's outbox everything after the last
    /// delivered sequence (pub/sub does not buffer), before any newer live event.
    private func readBack(cell: Int) async {
        while true {
            let after = delivered.withLock { $0[cell, default: 0] }
            guard let page = try? await send(InternalAPI.outbox(after: after), to: cell) else {
                logger.warning("outbox read-back failed", metadata: ["cell": "\(cell)"])
                return
            }
            for item in page {
                if let data = try? WireJSON.encode(item) { await receive(Array(data), cell: cell) }
            }
            if page.count < 500 { return }
        }
    }

    /// Loads the directory of moved workspaces from a cell; sessions in a workspace whose home
    /// changed follow it there. Answers whether the cell answered.
    @discardableResult
    func reloadDirectory(from cell: Int) async -> Bool {
        guard let entries = try? await send(InternalAPI.directory, to: cell) else { return false }
        for (entry, from) in directory.moves.merge(entries) {
            await rehome(entry.workspace_id, from: from, to: entry.cell_id, since: entry.since_seq)
        }
        return true
    }

    /// The sessions in a moved workspace subscribe to its topic in the new home and read back
    /// what that cell published for it since it took over; the old home's topic is kept a
    /// little longer, for what it committed before the freeze and has not yet published.
    private func rehome(_ workspace: Snowflake, from old: Int, to new: Int, since: Int64) async {
        let sessions = registry.withLock { r in Array((r.byGuild[workspace] ?? [:]).values) }
        guard !sessions.isEmpty else { return }
        logger.info("workspace moved; its sessions follow", metadata: ["workspace": "\(workspace)", "cell": "\(new)", "sessions": "\(sessions.count)"])
        for connection in sessions { connection.beginCatchUp() }
        await subscribe(Topics.workspace(workspace, cell: cellName(new)), cell: new)
        for connection in sessions {
            await catchUp(connection, cell: new, after: since, joined: [workspace])
            connection.endCatchUp()
        }
        Task { [self] in
            try? await Task.sleep(for: .seconds(10))
            try? await subscribers[old]?.unsubscribe(Topics.workspace(workspace, cell: cellName(old)))
        }
    }

    /// A call to cell `cell` (by id); a cell this edge does not know is unreachable.
    func send<Reply>(_ call: CellCall<Reply>, to cell: Int) async throws -> Reply {
        try await Self.send(call, to: cell, directory: directory, cells: cells)
    }

    /// The same, for what the hub sets up before it exists (its batches).
    private static func send<Reply>(_ call: CellCall<Reply>, to cell: Int, directory: CellDirectory, cells: CellClient) async throws -> Reply {
        guard let entry = directory.entry(for: cell) else { throw APIError.serviceUnavailable }
        return try await cells.send(call, to: entry.baseURL, timeout: .seconds(10))
    }

    /// A batch's items sent in one call: each gets its own answer, or the call's failure.
    private static func oneCall<Item, Answer>(for items: [Item], _ call: () async throws -> [Answer]) async -> [Result<Answer, any Error>] {
        do {
            let answers = try await call()
            guard answers.count == items.count else { throw BatchAnswerMissing() }
            return answers.map { .success($0) }
        } catch {
            return items.map { _ in .failure(error) }
        }
    }

    private func route(_ event: OutboxEvent, cell: Int) async {
        let e = event.event
        let targets: [GatewayConnection] = registry.withLock { r in
            let byGuild = e.type == "PRESENCE_UPDATE" ? r.presenceWatchers : r.byGuild
            let sessions = e.userID.map { r.byUser[$0] ?? [:] } ?? e.guildID.map { byGuild[$0] ?? [:] } ?? [:]
            return Array(sessions.values)
        }
        // A workspace's PRESENCE_UPDATE shows what others see; the user's own sessions get
        // their real status on their user topic instead (invisible is not offline to oneself).
        let subject = e.type == "PRESENCE_UPDATE" && e.userID == nil ? Self.presenceSubject(e.payload) : nil
        let deliver = { @Sendable [self] (part: ArraySlice<GatewayConnection>) in
            var routed = RoutedEvent(event)
            for connection in part where subject == nil || connection.userID != subject {
                offer(&routed, cell: cell, to: connection, readBack: nil)
            }
        }
        guard targets.count >= parallelFanout else { return deliver(targets[...]) }
        // A large fan-out is routed in parts, one per event loop: each loop routes the sessions
        // whose sockets it holds, so the parts run side by side and each socket's write starts on
        // its own loop. (Parts made as child tasks all ran on the routing task's loop, one after
        // the other: the whole fan-out on one core.) The next event waits for every part, so
        // each session still receives events in sequence order.
        var parts: [ObjectIdentifier: (loop: any EventLoop, sessions: [GatewayConnection])] = [:]
        var unattached: [GatewayConnection] = []
        for connection in targets {
            if let loop = connection.eventLoop {
                parts[ObjectIdentifier(loop), default: (loop, [])].sessions.append(connection)
            } else {
                unattached.append(connection)
            }
        }
        let elsewhere = parts.values.filter { !$0.loop.inEventLoop }.map { part in
            part.loop.submit { deliver(part.sessions[...]) }
        }
        for part in parts.values where part.loop.inEventLoop { deliver(part.sessions[...]) }
        deliver(unattached[...])
        for routed in elsewhere { try? await routed.get() }
    }

    static func presenceSubject(_ payload: String) -> Snowflake? {
        PresenceUpdatePayload.userID(inPayload: payload)
    }

    /// Delivers one cell event to one session, live or read back from the outbox (`readBack`
    /// names the workspaces the session has just joined). GUILD_CREATE and GUILD_DELETE
    /// addressed to the user change which workspaces the session follows.
    private func offer(_ routed: inout RoutedEvent, cell: Int, to connection: GatewayConnection, readBack joined: Set<Snowflake>?) {
        let e = routed.event.event
        let origin = EventOrigin(cell: cell, seq: routed.event.seq)
        let user = if let joined {
            connection.deliverReadBack(&routed, origin: origin, joined: joined)
        } else {
            connection.deliverLive(&routed, origin: origin)
        }
        if let guild = e.guildID, let addressee = e.userID, addressee == user {
            if e.type == "GUILD_CREATE", !connection.guilds.contains(guild) { joinLive(connection, guild: guild, after: origin) }
            if e.type == "GUILD_DELETE" { unfollow(connection, guild: guild) }
        }
    }

    private func wants(_ connection: GatewayConnection, _ e: PendingEvent) -> Bool {
        connection.state.withLock { s in
            if let user = e.userID { return user == s.userID }
            if let guild = e.guildID { return s.guilds.contains(guild) }
            return false
        }
    }

    /// Reads a cell's outbox after `after` and delivers to the session what concerns it; the
    /// caller has begun a catch-up, so live events wait until it ends. A session that cannot be
    /// caught up is closed (4000) and forgotten, so its client starts over instead of living
    /// with a silent gap.
    private func catchUp(_ connection: GatewayConnection, cell: Int, after start: Int64, joined: Set<Snowflake>) async {
        var after = start
        while true {
            guard let page = await readOutbox(cell, after: after, settled: after == start) else {
                logger.warning("outbox read-back for a session failed", metadata: ["cell": "\(cell)"])
                connection.close(.unknownError)
                if let id = connection.sessionID { remove(id, connection, why: "its outbox read-back failed") }
                return
            }
            for item in page {
                guard let bytes = try? WireJSON.encode(item), let event = OutboxEvent(wireJSON: Array(bytes)) else { continue }
                after = max(after, event.seq)
                guard wants(connection, event.event) else { continue }
                var routed = RoutedEvent(event)
                offer(&routed, cell: cell, to: connection, readBack: joined)
            }
            if page.count < 500 { return }
        }
    }

    /// One page of a cell's outbox after `after`; a failed read is tried again a few times
    /// (a busy cell is not a lost session), nil when it keeps failing. `settled`: the cell first
    /// numbers what committed before the read, so the page holds everything acknowledged so far.
    private func readOutbox(_ cell: Int, after: Int64, settled: Bool) async -> [JSONValue]? {
        var pause = Duration.milliseconds(100)
        for attempt in 1...5 {
            if let page = try? await send(InternalAPI.outbox(after: after, settled: settled), to: cell) { return page }
            if attempt < 5 {
                try? await Task.sleep(for: pause)
                pause *= 2
            }
        }
        return nil
    }

    // MARK: Sessions

    /// Makes a session reachable and waits until its topics are subscribed; the caller reads
    /// the outbox back after that, so an event published before the subscription is not lost.
    /// Sessions this edge holds, attached or waiting out their resume window.
    var sessionCount: Int { registry.withLock { $0.sessions.count } }

    /// Answers whether every subscription was confirmed on its connection.
    @discardableResult
    func register(_ connection: GatewayConnection, sessionID: String, userID: Snowflake, guilds: [Snowflake]) async -> Bool {
        registry.withLock { r in
            r.sessions[sessionID] = connection
            r.byUser[userID, default: [:]][sessionID] = connection
        }
        for guild in guilds { follow(connection, guild: guild) }
        // SUBSCRIBE is idempotent, so every session waits for its own confirmation even when
        // another session of the same workspace asked first.
        // Events for the user come from every cell holding one of their workspaces (a join there,
        // for one), so the user's topic is followed in each.
        var topics: [Int: [String]] = [:]
        for entry in directory.all { topics[entry.cell.id, default: []].append(Topics.user(userID, cell: entry.cell.name)) }
        for guild in guilds {
            let home = directory.moves.home(workspace: guild)
            topics[home, default: []].append(Topics.workspace(guild, cell: cellName(home)))
        }
        return await withTaskGroup(of: Bool.self) { cells in
            for (cell, list) in topics { cells.addTask { await self.subscribe(list, cell: cell) } }
            return await cells.reduce(true) { $0 && $1 }
        }
    }

    /// Each cell's subscription connection while it is up and follows the cell's outbox
    /// position (nil otherwise): taken before READY's state, compared after the session's
    /// subscriptions are confirmed (`needsReadBack`).
    func feedConnections() -> [Int: Int] {
        let followed = positionsFollowed.withLock { $0 }
        return subscribers.reduce(into: [:]) { result, pair in
            if followed.contains(pair.key), let connection = pair.value.connection { result[pair.key] = connection }
        }
    }

    /// Whether a new session must read a cell's outbox back from READY's position. Not when the
    /// cell's subscription connection stayed up from before READY's state was read until the
    /// session's subscriptions were confirmed, and the cell published no position past READY's
    /// in that time: the cell publishes each batch's position before the batch's events, and
    /// Redis delivers what was published before a SUBSCRIBE ahead of its confirmation, so any
    /// event the session could have missed shows as a later position by then.
    func needsReadBack(cell: Int, after ready: Int64, connectionBefore: Int?) -> Bool {
        guard let before = connectionBefore, let subscriber = subscribers[cell], subscriber.connection == before,
              let payload = subscriber.latestPayload(of: Topics.outbox(cell: cellName(cell))) else { return true }
        let position = payload.isEmpty ? 0 : Int64(String(decoding: payload, as: UTF8.self)) ?? .max
        return position > ready
    }

    /// The session's user joined a workspace while connected: follow it, and read back from the
    /// outbox what the workspace published between the join and the subscription.
    private func joinLive(_ connection: GatewayConnection, guild: Snowflake, after origin: EventOrigin) {
        connection.beginCatchUp()
        follow(connection, guild: guild)
        let home = directory.moves.home(workspace: guild)
        Task { [self] in
            await subscribe(Topics.workspace(guild, cell: cellName(home)), cell: home)
            let after = home == origin.cell ? origin.seq : connection.state.withLock { $0.cursors[home, default: 0] }
            await catchUp(connection, cell: home, after: after, joined: [guild])
            connection.endCatchUp()
        }
    }

    private func follow(_ connection: GatewayConnection, guild: Snowflake) {
        guard let id = connection.sessionID else { return }
        let watchesPresence = connection.state.withLock { s in
            s.guilds.insert(guild)
            return s.machine.intents.contains(.guildPresences)
        }
        registry.withLock { r in
            r.byGuild[guild, default: [:]][id] = connection
            if watchesPresence { r.presenceWatchers[guild, default: [:]][id] = connection }
        }
    }

    func unfollow(_ connection: GatewayConnection, guild: Snowflake) {
        guard let id = connection.sessionID else { return }
        connection.state.withLock { _ = $0.guilds.remove(guild) }
        let last = registry.withLock { r -> Bool in
            r.byGuild[guild]?[id] = nil
            r.presenceWatchers[guild]?[id] = nil
            if r.presenceWatchers[guild]?.isEmpty == true { r.presenceWatchers[guild] = nil }
            if r.byGuild[guild]?.isEmpty == true { r.byGuild[guild] = nil; return true }
            return false
        }
        let home = directory.moves.home(workspace: guild)
        if last { Task { try? await subscribers[home]?.unsubscribe(Topics.workspace(guild, cell: cellName(home))) } }
    }

    /// Whether Redis confirmed the subscriptions on the current connection. Sessions subscribing
    /// together (a thousand identifying at once) share one SUBSCRIBE per cell.
    @discardableResult
    private func subscribe(_ topics: [String], cell: Int) async -> Bool {
        (try? await subscriptionBatches[cell]?.submit(topics)) ?? false
    }

    @discardableResult
    private func subscribe(_ topic: String, cell: Int) async -> Bool {
        await subscribe([topic], cell: cell)
    }

    private func cellName(_ id: Int) -> String { directory.entry(for: id)?.cell.name ?? "cell-\(id)" }

    /// A dropped session stays registered (still numbering and keeping events) until its
    /// resume window passes.
    /// `output` is the closing socket's: a session that a newer socket already took over
    /// (RESUME while the old socket was still open) is left alone.
    /// Answers whether the session was this socket's (not already taken over by another).
    @discardableResult
    func detach(_ connection: GatewayConnection, output: SocketOutput, now: Double) -> Bool {
        let (detached, user) = connection.state.withLock { s -> (Bool, Snowflake?) in
            guard s.output === output else { return (false, nil) }
            let wasAttached = !s.handedOver
            s.closer = nil
            s.output = nil
            s.detachedUntil = now + resumeWindow
            return (true, wasAttached ? s.userID : nil)
        }
        if let user { presence.sessionEnded(user) }
        return detached
    }

    /// Draining (SIGTERM, a deploy): every session's resume state goes to its user's home cell's
    /// Redis, where any edge can take it over, then every attached session is told to reconnect
    /// (op 7) and its socket closed with 4000, which clients answer by resuming. From here on
    /// this edge refuses new sockets, so a resume lands on another edge.
    func drain() async {
        draining.store(true, ordering: .sequentiallyConsistent)
        let all = registry.withLock { Array($0.sessions) }
        let drain = UUID().uuidString.lowercased()
        let expiry = ["EX", "\(Int(resumeWindow.rounded(.up)))"]
        let tableKey = { (cell: Int) in Topics.handedOverBodies(drain, cell: self.cellName(cell)) }
        var tables: [Int: HandOverTable] = [:]
        var commands: [Int: [[String]]] = [:]
        for (sessionID, connection) in all {
            guard let record = connection.handOver(into: &tables, key: tableKey),
                  let json = try? WireJSON.encodeString(record) else { continue }
            let cell = record.userID.cell
            commands[cell, default: []].append(["SET", Topics.handedOverSession(sessionID, cell: cellName(cell)), json] + expiry)
        }
        // Each cell's table goes ahead of its sessions' records, in the same pipeline.
        for (cell, table) in tables {
            guard let json = try? WireJSON.encodeString(table.bodies) else { commands[cell] = nil; continue }
            commands[cell]?.insert(["SET", tableKey(cell), json] + expiry, at: 0)
        }
        for (cell, batch) in commands {
            do { _ = try await directory.entry(for: cell)?.redis.pipeline(batch) } catch {
                logger.warning("handing sessions over failed; they will re-identify", metadata: ["cell": "\(cell)", "error": "\(error)"])
            }
        }
        for (_, connection) in all {
            connection.send(ServerFrame.reconnect)
            connection.close(.unknownError)
        }
        // The server stops after this returns; give the sockets a moment to write their close.
        for _ in 0..<150 where all.contains(where: { $0.1.state.withLock { $0.closer != nil } }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        logger.info("gateway drained", metadata: ["sessions": "\(all.count)"])
    }

    var isDraining: Bool { draining.load(ordering: .sequentiallyConsistent) }

    /// Takes over a session another edge handed over (at most one edge gets it: GETDEL). The
    /// record's workspaces are not believed (anyone who can write that Redis could name any):
    /// the session follows only those the cells say the user is a member of now.
    func adopt(_ sessionID: String, claims: TokenClaims, authorization: String, heartbeatInterval: Double) async -> GatewayConnection? {
        guard let home = directory.entry(for: claims.userID.cell),
              let reply = try? await home.redis.send("GETDEL", Topics.handedOverSession(sessionID, cell: home.cell.name)),
              case .bulk(let bytes) = reply,
              var record = try? WireJSON.decode(HandedOverSession.self, from: Data(bytes)),
              record.userID == claims.userID, (0...HandedOverSession.largestSequence).contains(record.sequence),
              let memberships = try? await readyStates(authorization: authorization, home: claims.userID.cell) else { return nil }
        let member = Set(memberships.flatMap { $0.state.guilds.map(\.guild.id) })
        record.guilds = record.guilds.filter(member.contains)
        // The workspaces as they are now: the read-back that follows replays what changed since
        // the hand-over, each change putting back the state it made at its point of the stream.
        var visibility = ChannelVisibility(userID: record.userID)
        for part in memberships { for guild in part.state.guilds where record.guilds.contains(guild.guild.id) { visibility.load(guild, sharing: workspaceViews) } }
        let buffer: ResumeBuffer
        if let shared = record.shared {
            // A reference the table does not hold leaves the buffer empty: the client gets op 9.
            let table = await handedOverTables.bodies(shared.table, cell: home.cell.name, redis: home.redis, now: Self.now) ?? []
            let bodies = shared.bodies.allSatisfy(table.indices.contains) ? shared.bodies.map { table[$0] } : []
            buffer = ResumeBuffer(firstSeq: shared.firstSeq, bodies: bodies, lastSeq: record.sequence)
        } else {
            // A record of an older edge: its frames whole.
            buffer = ResumeBuffer(kept: record.frames, lastSeq: record.sequence)
        }
        let connection = GatewayConnection(now: Self.now, heartbeatInterval: heartbeatInterval, output: nil, closer: nil, deliveries: deliveries)
        connection.state.withLock { s in
            s.machine.restored(intents: Intents(rawValue: record.intents), sequence: record.sequence, now: Self.now)
            s.buffer = buffer
            s.userID = record.userID
            s.isBot = record.isBot
            s.authorization = authorization
            s.sessionID = sessionID
            s.cursors = Dictionary(uniqueKeysWithValues: record.cursors.compactMap { k, v in Int(k).map { ($0, v) } })
            s.presence = record.presence ?? PresenceState(status: .online)
            s.visibility = visibility
        }
        connection.beginCatchUp()
        await register(connection, sessionID: sessionID, userID: record.userID, guilds: record.guilds)
        return connection
    }

    /// Reads back, for an adopted session, what its cells published after it was handed over.
    func catchUpAdopted(_ connection: GatewayConnection) async {
        let cursors = connection.state.withLock { $0.cursors }
        let cells = Set(connection.guilds.map(directory.moves.home(workspace:))).union(connection.userID.map { [$0.cell] } ?? [])
        for cell in cells { await catchUp(connection, cell: cell, after: cursors[cell, default: 0], joined: []) }
    }

    /// Reads back what a just-identified session's cell published after its READY state.
    func catchUpIdentified(_ connection: GatewayConnection, cell: Int, after: Int64) async {
        await catchUp(connection, cell: cell, after: after, joined: [])
    }

    func resumable(_ sessionID: String) -> GatewayConnection? {
        registry.withLock { $0.sessions[sessionID] }
    }

    private func expireDetached(now: Double) {
        let expired = registry.withLock { r -> [(String, GatewayConnection)] in
            r.sessions.filter { _, c in c.state.withLock { ($0.detachedUntil ?? .infinity) < now } }.map { ($0.key, $0.value) }
        }
        for (id, connection) in expired { remove(id, connection, why: "its resume window ended") }
    }

    /// Forgets a session; `why` goes to the debug log, so a RESUME refused as unknown can be
    /// traced to what ended its session.
    func remove(_ sessionID: String, _ connection: GatewayConnection, why: String) {
        logger.debug("session removed", metadata: ["session": "\(sessionID)", "why": "\(why)"])
        let guilds = connection.guilds
        let user = connection.userID
        registry.withLock { r in
            r.sessions[sessionID] = nil
            if let user { r.byUser[user]?[sessionID] = nil; if r.byUser[user]?.isEmpty == true { r.byUser[user] = nil } }
        }
        for guild in guilds { unfollow(connection, guild: guild) }
    }

    // MARK: Cell calls

    /// READY's state, gathered from every cell at once: the home cell gives the user and their
    /// workspaces there, each other cell the user's workspaces it holds. Each part keeps its
    /// cell's outbox position. A cell other than home that cannot answer is left out (its
    /// workspaces are missing from this session) rather than failing the IDENTIFY.
    func readyStates(authorization: String, home: Int) async throws -> [(cell: Int, state: ReadyState)] {
        let parts = await withTaskGroup(of: (Int, ReadyState?).self) { group in
            for (cell, batches) in readyBatches {
                group.addTask {
                    (cell, try? await batches.submit(ReadyAsk(authorization: authorization, guildsOnly: cell != home)))
                }
            }
            return await group.reduce(into: [(Int, ReadyState?)]()) { $0.append($1) }
        }
        guard parts.contains(where: { $0.0 == home && $0.1 != nil }) else { throw APIError.unauthorized }
        for (cell, state) in parts where state == nil { logger.warning("a cell's part of READY is missing", metadata: ["cell": "\(cell)"]) }
        // While a workspace moves, both cells may hold it (and its read states) for a moment.
        var answered = parts.compactMap { cell, state in state.map { (cell: cell, state: $0) } }
        let moves = directory.moves
        let guilds = moves.keepHomeCopies(answered.map { ($0.cell, $0.state.guilds) }) { $0.guild.id }
        let readStates = moves.keepHomeCopies(answered.map { ($0.cell, $0.state.readStates) }) { $0.id }
        for index in answered.indices {
            answered[index].state.guilds = guilds[index].items
            answered[index].state.readStates = readStates[index].items
        }
        return answered.sorted { ($0.cell != home ? 1 : 0, $0.cell) < ($1.cell != home ? 1 : 0, $1.cell) }
    }
}
