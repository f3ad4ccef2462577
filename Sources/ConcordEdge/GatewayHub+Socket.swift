import ConcordAuth
import ConcordGateway
import ConcordModels
import ConcordObservability
import Foundation
import NIOCore
import NIOWebSocket
import Synchronization

/// One gateway socket: the session it currently drives (its own, or after RESUME the one it
/// took over), and the messages it has received but the hub has not yet handled.
final class SocketBinding: Sendable {
    let connection: Mutex<GatewayConnection>
    /// The client's address, and whether the socket counts among its unidentified ones.
    let address: String
    let counted = Atomic<Bool>(false)
    let output: SocketOutput
    let closer: SocketCloser
    let channel: any Channel
    /// Messages in arrival order, handled one at a time by a task that runs only while there
    /// are some; `end` comes last, once the connection is gone.
    struct Inbox {
        enum Item { case message([UInt8]), end(clientLeft: Bool) }
        /// Items from `head` on wait; the handled ones before it are dropped in bulk, so taking
        /// one is O(1) however many tiny frames a client piles up.
        private var items: [Item] = []
        private var head = 0
        var bytes = 0
        var handling = false
        var paused = false

        mutating func append(_ item: Item) { items.append(item) }

        mutating func popFirst() -> Item? {
            guard head < items.count else { return nil }
            let item = items[head]
            head += 1
            if head == items.count {
                // Drained: an idle socket keeps no storage.
                items = []
                head = 0
            } else if head >= 32, head * 2 >= items.count {
                items.removeFirst(head)
                head = 0
            }
            return item
        }
    }
    let inbox = Mutex(Inbox())
    /// Past this many bytes waiting, the socket stops reading until the hub catches up.
    static let inboxBytes = 64 << 10

    init(_ c: GatewayConnection, address: String, output: SocketOutput, closer: SocketCloser, channel: any Channel) {
        connection = Mutex(c)
        self.address = address
        self.output = output
        self.closer = closer
        self.channel = channel
    }
    var current: GatewayConnection { connection.withLock { $0 } }

    /// Queues an item; answers whether a task must start to handle it.
    func enqueue(_ item: Inbox.Item) -> Bool {
        let (start, pause) = inbox.withLock { box -> (Bool, Bool) in
            box.append(item)
            if case .message(let bytes) = item { box.bytes += bytes.count }
            let pause = !box.paused && box.bytes > Self.inboxBytes
            if pause { box.paused = true }
            defer { box.handling = true }
            return (!box.handling, pause)
        }
        if pause { channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in } }
        return start
    }

    /// The next item to handle; nil (and the task ends) when none is left.
    func next() -> Inbox.Item? {
        let (item, resume) = inbox.withLock { box -> (Inbox.Item?, Bool) in
            guard let item = box.popFirst() else {
                box.handling = false
                return (nil, false)
            }
            if case .message(let bytes) = item { box.bytes -= bytes.count }
            let resume = box.paused && box.bytes <= Self.inboxBytes / 2
            if resume { box.paused = false }
            return (item, resume)
        }
        if resume { channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in } }
        return item
    }
}

extension GatewayHub {
    static var now: Double { ProcessInfo.processInfo.systemUptime }
    static let socketSendBuffer: SocketOptionValue = 128 << 10
    /// A client sends little (heartbeats, an IDENTIFY, a presence now and then), and the
    /// kernel's buffer for what it sends grows to tens of megabytes for one that sends fast
    /// (here up to 32 MB): while the socket pauses reading (a full inbox) all of it would wait
    /// in the kernel per connection. Fixed, it bounds that, and what a flood has in flight.
    static let socketReceiveBuffer: SocketOptionValue = 64 << 10

    /// A socket just upgraded, on its event loop: HELLO goes out (or the socket's refusal), and
    /// from here its messages come through `received` and its end through `ended`. `close` sends
    /// the edge's close handshake (on the event loop).
    /// `entry`: the socket handler's context, where the session's frames enter the pipeline.
    func open(channel: any Channel, entry: NIOLoopBound<ChannelHandlerContext>, query: [String: String], heartbeatInterval: Double = 41.25,
              close: @escaping @Sendable (GatewayCloseCode) -> Void) -> SocketBinding {
        // One compression stream per connection. An unknown compression gets uncompressed text
        // frames, which clients accept.
        let output = SocketOutput(channel: channel, entry: entry, compression: query["compress"].flatMap(GatewayCompression.init(rawValue:)),
                                  rounds: flushRounds)
        // A close asked for goes out after the frames sent before it (a flush held for a round
        // would otherwise follow it).
        let closer = SocketCloser { [metrics] code in
            metrics.counter(.gatewayCloses, [("code", String(code.rawValue))]).increment()
            channel.eventLoop.execute {
                output.flushQueue()
                close(code)
            }
        }
        // A fixed kernel send buffer instead of one that grows to megabytes for a slow reader:
        // what the client has not taken stays in the session's own bounded count (SocketOutput).
        try? channel.syncOptions?.setOption(ChannelOptions.socketOption(.so_sndbuf), value: Self.socketSendBuffer)
        try? channel.syncOptions?.setOption(ChannelOptions.socketOption(.so_rcvbuf), value: Self.socketReceiveBuffer)
        let connection = GatewayConnection(now: Self.now, heartbeatInterval: heartbeatInterval, output: output, closer: closer,
                                           deliveries: deliveries)
        let binding = SocketBinding(connection, address: channel.remoteAddress?.ipAddress ?? "unknown", output: output, closer: closer,
                                    channel: channel)
        // A draining edge sends new sockets away (4000: reconnect), so a resume lands elsewhere.
        let refusal: GatewayCloseCode? = if isDraining { .unknownError }
            else if !unidentified.admit(binding) { .rateLimited }
            else if let v = query["v"], v != "10", v != "9" { .invalidAPIVersion }
            else if let encoding = query["encoding"], encoding != "json" { .decodeError } else { nil }
        if let refusal {
            // A close sent in the same instant as the upgrade can reach a client before it reads
            // frames at all; a short pause lets it see the code.
            channel.eventLoop.scheduleTask(in: .milliseconds(100)) { closer.yield(refusal) }
        } else {
            output.write(ServerFrame.hello(interval: .milliseconds(Int(heartbeatInterval * 1000))))
        }
        // The hub's one ticker checks heartbeat and identify deadlines for every socket.
        sockets.withLock { $0[ObjectIdentifier(binding)] = binding }
        heapTrimmer.noteChange()
        return binding
    }

    /// A whole message from the socket's client.
    func received(_ bytes: [UInt8], on binding: SocketBinding) { enqueue(.message(bytes), on: binding) }

    /// The socket's connection is gone; `clientLeft`: its client closed it with 1000 or 1001.
    func ended(_ binding: SocketBinding, clientLeft: Bool) { enqueue(.end(clientLeft: clientLeft), on: binding) }

    private func enqueue(_ item: SocketBinding.Inbox.Item, on binding: SocketBinding) {
        if binding.enqueue(item) { Task { await handleInbox(of: binding) } }
    }

    /// Handles a socket's messages in order while there are some; the task ends with the last.
    private func handleInbox(of binding: SocketBinding) async {
        while let item = binding.next() {
            switch item {
            case .message(let bytes):
                let c = binding.current
                // A closed session reads on only until its close has gone out.
                if c.state.withLock({ if case .closed = $0.machine.phase { true } else { false } }) { continue }
                let actions = c.state.withLock { s in
                    let actions = s.machine.receive(bytes, now: Self.now)
                    s.buffer.drop(through: s.machine.clientSequence)
                    return actions
                }
                await perform(actions, binding: binding)
            case .end(let clientLeft):
                end(binding, clientLeft: clientLeft)
            }
        }
    }

    private func end(_ binding: SocketBinding, clientLeft: Bool) {
        sockets.withLock { $0[ObjectIdentifier(binding)] = nil }
        heapTrimmer.noteChange()
        unidentified.release(binding)
        binding.closer.finish()
        let c = binding.current
        // A session the edge closed after READY (no heartbeat in time, a broken frame, a flood)
        // is detached like a dropped one: it stays resumable for the window, then ends. (It was
        // left attached to its dead socket: never expiring, its user online for good.)
        let session = c.state.withLock { s -> String? in s.machine.wasReady ? s.sessionID : nil }
        guard let session else { return }
        // As on Discord: a client closing with 1000 or 1001 has ended its session, not lost it.
        if detach(c, output: binding.output, now: Self.now), clientLeft { remove(session, c, why: "its client closed with 1000 or 1001") }
    }

    /// Once a second, for every socket: close those whose heartbeats stopped (4009) or that never
    /// identified (4003), send presence updates their rate held back, and release idle
    /// compression contexts. One loop for the edge instead of a sleeping task per socket.
    func tickAll() async {
        let now = Self.now
        var released = 0
        for binding in sockets.withLock({ Array($0.values) }) {
            let actions = binding.current.state.withLock { $0.machine.tick(now: now) }
            if !actions.isEmpty { await perform(actions, binding: binding) }
            if binding.output.releaseIdleCompression(afterTicks: compressionIdleTicks) { released += 1 }
        }
        guard released > 0 else { return }
        compressionReleases.increment(by: released)
        // What the contexts held goes back to the system with the next trim.
        heapTrimmer.noteChange()
    }

    /// How many open sockets hold a compression context now.
    var compressionContexts: Int { sockets.withLock { Array($0.values) }.count { $0.output.holdsCompressionContext } }

    func perform(_ actions: [GatewaySession.Action], binding: SocketBinding) async {
        let connection = binding.current
        for action in actions {
            switch action {
            case .send(let frame): connection.send(frame)
            case .close(let code): connection.close(code)
            case .authenticate(let payload):
                await identify(connection, payload) { [unidentified] in unidentified.release(binding) }
            case .resume(let payload):
                await resume(binding, payload)
                releaseIfIdentified(binding)
            case .requestGuildMembers(let request): await membersChunk(connection, request)
            case .rateLimited(let opcode, let retryAfter, let request):
                var meta: [String: JSONValue] = ["guild_id": .string(request.guild_id.description)]
                if let nonce = request.nonce { meta["nonce"] = .string(nonce) }
                let event = JSONValue.object(["opcode": .int(Int64(opcode)), "retry_after": .double((retryAfter * 1000).rounded() / 1000), "meta": .object(meta)])
                if let data = try? WireJSON.encodeString(event) { connection.deliver("RATE_LIMITED", data: data) }
            case .updatePresence(let value): await updatePresence(connection, value)
            case .subscribe(let payload): connection.state.withLock { $0.levels.apply(payload) }
            }
        }
    }

    private func releaseIfIdentified(_ binding: SocketBinding) {
        if binding.current.state.withLock({ $0.machine.phase == .ready }) { unidentified.release(binding) }
    }

    /// Verifies the token (signature, then revocation), gathers READY from the cells, sends
    /// READY and one GUILD_CREATE per workspace, then starts live delivery. `authenticated` is
    /// called as soon as the session is ready (the socket stops counting as unidentified then,
    /// not after the read-back that follows READY).
    private func identify(_ connection: GatewayConnection, _ identify: IdentifyPayload, authenticated: () -> Void) async {
        var steps = IdentifySteps(metrics: metrics)
        guard let (claims, authorization) = await verify(identify.token) else {
            connection.close(.authenticationFailed); return
        }
        steps.done("verify")
        switch await startSession(claims) {
        case .tooSoon?: invalidSession(connection, "identify sooner than the bot's concurrency allows"); return
        case .spent?: connection.close(.rateLimited); return
        case nil: break
        }
        steps.done("session_start")
        do {
            let connections = feedConnections()
            let parts = try await readyStates(authorization: authorization, home: claims.userID.cell)
            steps.done("ready_states")
            var ready = parts[0].state
            for part in parts.dropFirst() {
                ready.guilds += part.state.guilds
                ready.readStates += part.state.readStates
            }
            let sessionID = Self.newSessionID()
            connection.state.withLock { s in
                s.machine.identified(intents: Intents(rawValue: identify.intents))
                s.userID = claims.userID
                s.isBot = claims.isBot
                s.sessionID = sessionID
                s.authorization = authorization
                s.tokenID = claims.tokenID
                for part in parts { s.cursors[part.cell] = part.state.outboxSeq }
                s.levels.largeGuilds = Set(ready.guilds.filter(\.large).map(\.guild.id))
                var visibility = ChannelVisibility(userID: claims.userID)
                for guild in ready.guilds { visibility.load(guild, sharing: workspaceViews) }
                s.visibility = visibility
            }
            authenticated()
            // Live events wait while the outbox is read back from where READY's state was taken.
            connection.beginCatchUp()
            connection.deliverReady(try readyPayload(ready, sessionID: sessionID, bot: claims.isBot))
            for guild in ready.guilds { connection.deliver(try guildCreates.body(guild)) }
            steps.done("send")
            let subscribed = await register(connection, sessionID: sessionID, userID: claims.userID, guilds: ready.guilds.map(\.guild.id))
            steps.done("subscribe")
            // What was published between READY's state and the subscriptions is read back from
            // the outbox, unless the cell's position shows nothing was (most identifies).
            let readBacks = parts.filter { !subscribed || needsReadBack(cell: $0.cell, after: $0.state.outboxSeq, connectionBefore: connections[$0.cell]) }
            metrics.counter(.gatewayIdentifyReadBacks, [("outcome", "read")]).increment(by: readBacks.count)
            metrics.counter(.gatewayIdentifyReadBacks, [("outcome", "skipped")]).increment(by: parts.count - readBacks.count)
            let state = identify.presence?.state ?? PresenceState(status: .online)
            connection.state.withLock { $0.presence = state }
            metrics.counter(.gatewayIdentifies).increment()
            await presence.sessionStarted(claims.userID, state: state)
            steps.done("presence")
            for part in readBacks { await catchUpIdentified(connection, cell: part.cell, after: part.state.outboxSeq) }
            connection.endCatchUp()
            steps.done("read_back")
        } catch {
            logger.warning("identify failed", metadata: ["error": "\(error)"])
            connection.close(.unknownError)
        }
    }

    /// Times an IDENTIFY's steps one after another, each from the end of the one before.
    private struct IdentifySteps {
        let metrics: NodeMetrics
        var last = ContinuousClock.now

        mutating func done(_ step: String) {
            let now = ContinuousClock.now
            metrics.timer(.gatewayIdentifyStepDuration, [("step", step)]).recordNanoseconds((now - last).nanoseconds)
            last = now
        }
    }

    /// Op 9 with `d: false`: the client starts a new session, on this socket or another.
    /// `why`: logged at debug, the reason a client cannot see in op 9.
    private func invalidSession(_ connection: GatewayConnection, _ why: String) {
        logger.debug("invalid session", metadata: ["why": "\(why)"])
        connection.state.withLock { $0.machine.invalidated() }
        connection.send(ServerFrame.invalidSession(resumable: false))
    }

    /// Reattaches a dropped session to this socket and replays what it missed, or answers op 9.
    /// The session is this edge's own, or one a draining edge handed over through Redis; for
    /// the latter, what its cells published since the hand-over is read back from the outbox.
    private func resume(_ binding: SocketBinding, _ payload: ResumePayload) async {
        let fresh = binding.current
        guard let (claims, authorization) = await verify(payload.token) else { fresh.close(.authenticationFailed); return }
        guard let sessionID = payload.session_id else { invalidSession(fresh, "resume without a session"); return }
        var old = resumable(sessionID)
        if let local = old, local.userID != claims.userID || local.state.withLock({ $0.handedOver }) { old = nil }
        var adopted = false
        if old == nil {
            let interval = fresh.state.withLock { $0.machine.heartbeatInterval }
            old = await adopt(sessionID, claims: claims, authorization: authorization, heartbeatInterval: interval)
            adopted = old != nil
        }
        guard let old else { invalidSession(fresh, "resume of an unknown session"); return }
        let (output, closer) = fresh.state.withLock { ($0.output, $0.closer) }
        let replayed = old.state.withLock { s -> Int? in
            guard let frames = s.buffer.replay(after: payload.seq ?? 0) else { return nil }
            s.closer?.yield(.unknownError)  // a still-open old socket gives way
            s.output = output
            s.closer = closer
            s.detachedUntil = nil
            s.tokenID = claims.tokenID
            s.machine.reattached(now: Self.now)
            for frame in frames { output?.write(frame, replay: true) }
            return frames.count
        }
        guard let replayed else {
            if adopted { remove(sessionID, old, why: "the handed-over session kept no frames from its sequence") }
            invalidSession(fresh, "resume from a sequence no longer kept")
            return
        }
        binding.connection.withLock { $0 = old }
        logger.debug("resumed", metadata: ["replayed": "\(replayed)", "adopted": "\(adopted)"])
        metrics.counter(.gatewayResumes).increment()
        if adopted { await catchUpAdopted(old) }
        old.deliver("RESUMED", data: "{}")
        if adopted { old.endCatchUp() }
        // After RESUMED, as after READY: the report goes to the user's home cell, maybe in
        // another region, and a resuming client waits for nothing it does not need.
        await presence.sessionStarted(claims.userID, state: old.state.withLock { $0.presence })
    }

    /// Op 3: the session's user chose a status (online, idle, dnd, invisible) or custom status.
    private func updatePresence(_ connection: GatewayConnection, _ requested: IdentifyPayload.Presence) async {
        guard let user = connection.userID else { return }
        let state = requested.state
        connection.state.withLock { $0.presence = state }
        await presence.statusChanged(user, state: state)
    }

    /// REQUEST_GUILD_MEMBERS: answered with one GUILD_MEMBERS_CHUNK read from the workspace's cell
    /// with the session's own token, so membership and permissions are checked there.
    private func membersChunk(_ connection: GatewayConnection, _ request: RequestGuildMembersPayload) async {
        guard let authorization = connection.state.withLock({ $0.authorization }) else { return }
        let call = InternalAPI.api(method: "GET", path: "/api/v10/guilds/\(request.guild_id)/members?limit=1000", authorization: authorization)
        guard let reply = try? await send(call, to: directory.moves.home(workspace: request.guild_id)), reply.succeeded,
              let page = try? WireJSON.decode([JSONValue].self, from: reply.body) else { return }
        let query = request.query?.lowercased() ?? ""
        let wanted = request.user_ids.map(Set.init)
        let limit = request.limit.flatMap { $0 > 0 ? $0 : nil } ?? page.count
        let members = page.filter { member in
            guard let id = member["user"]?["id"]?.stringValue.flatMap(Snowflake.init) else { return false }
            if let wanted { return wanted.contains(id) }
            return query.isEmpty || (member["user"]?["username"]?.stringValue?.lowercased().hasPrefix(query) ?? false)
        }.prefix(limit)
        let found = Set(members.compactMap { $0["user"]?["id"]?.stringValue.flatMap(Snowflake.init) })
        var chunk: [String: JSONValue] = [
            "guild_id": .string(request.guild_id.description), "members": .array(Array(members)),
            "chunk_index": .int(0), "chunk_count": .int(1),
            "not_found": .array((request.user_ids ?? []).filter { !found.contains($0) }.map { .string($0.description) }),
        ]
        if request.presences == true { chunk["presences"] = .array(await visiblePresences(of: Array(found), guild: request.guild_id)) }
        if let nonce = request.nonce { chunk["nonce"] = .string(nonce) }
        if let data = try? WireJSON.encodeString(JSONValue.object(chunk)) { connection.deliver("GUILD_MEMBERS_CHUNK", data: data) }
    }

    /// The presences others see of these members, from the workspace's cell's Redis (one HMGET).
    private func visiblePresences(of users: [Snowflake], guild: Snowflake) async -> [JSONValue] {
        guard !users.isEmpty, let entry = directory.entry(for: directory.moves.home(workspace: guild)),
              let reply = try? await entry.redis.send(["HMGET", Topics.presenceState(cell: entry.cell.name)] + users.map(\.description)) else { return [] }
        return PresenceUpdatePayload.listed(Array(zip(users, (reply.array ?? []).map(\.string))), guild: guild)
    }

    private func verify(_ token: String) async -> (TokenClaims, String)? {
        let raw = token.hasPrefix("Bot ") ? String(token.dropFirst(4)) : token
        guard let claims = tokens.verify(raw) else { logger.debug("token refused: signature"); return nil }
        let revoked = await isRevoked(claims)
        guard revoked == false else {
            logger.debug("token refused", metadata: ["why": "\(revoked == nil ? "revocation unknown" : "revoked")"])
            return nil
        }
        return (claims, claims.isBot ? "Bot " + raw : raw)
    }

    private func readyPayload(_ ready: ReadyState, sessionID: String, bot: Bool) throws -> String {
        try ReadyPayload(user: ready.user, guilds: ready.guilds.map(\.guild.id), sessionID: sessionID, resumeURL: publicGatewayURL, bot: bot,
                         privateChannels: ready.privateChannels, readStates: ready.readStates).wireJSON()
    }

    static func newSessionID() -> String {
        // Foundation's String(format:) per byte was 2.7% of the edge's CPU in a 1,000-session join.
        var rng = SystemRandomNumberGenerator()
        let high = rng.next() as UInt64, low = rng.next() as UInt64
        return String(high, radix: 16).leftPadded(to: 16) + String(low, radix: 16).leftPadded(to: 16)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

private extension GatewaySession.Action {
    /// Whether performing it waits on cells or Redis (and so calls deep).
    var callsCells: Bool {
        switch self {
        case .authenticate, .resume, .requestGuildMembers, .updatePresence: true
        case .send, .close, .rateLimited, .subscribe: false
        }
    }
}
