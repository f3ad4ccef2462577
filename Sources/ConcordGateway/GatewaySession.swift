import ConcordModels
import Foundation

/// One gateway connection's protocol, free of I/O: the socket handler feeds it frames and
/// clock ticks and performs the actions it returns (send a frame, close with a code, ask the
/// cell to authenticate or resume). Times are seconds on a monotonic clock.
public struct GatewaySession: Sendable {
    public enum Phase: Sendable, Equatable {
        /// HELLO sent; waiting for IDENTIFY or RESUME.
        case connected
        /// IDENTIFY or RESUME received; waiting for the edge to check the token.
        case authenticating
        case ready
        case closed(GatewayCloseCode)
    }

    public enum Action: Sendable, Equatable {
        case send(String)
        case close(GatewayCloseCode)
        case authenticate(IdentifyPayload)
        case resume(ResumePayload)
        case requestGuildMembers(RequestGuildMembersPayload)
        case subscribe(ChannelSubscriptionsPayload)
        case updatePresence(IdentifyPayload.Presence)
        /// A command refused for its own rate (the session stays): sent as Discord's
        /// RATE_LIMITED dispatch, so the client knows when to ask again.
        case rateLimited(opcode: Int, retryAfter: Double, request: RequestGuildMembersPayload)
    }

    public private(set) var phase: Phase = .connected
    public private(set) var sequence: Int64 = 0
    /// The session got as far as READY (or a RESUME): from then on it numbers what it is sent and
    /// is resumable, whatever closes its socket.
    public private(set) var wasReady = false
    public private(set) var intents: Intents = []
    /// The last sequence the client says it received (a heartbeat's d): frames up to it
    /// need not be handed over for RESUME.
    public private(set) var clientSequence: Int64 = 0
    public let heartbeatInterval: Double
    public let identifyTimeout: Double
    private let connectedAt: Double
    private var lastHeartbeat: Double
    /// Discord's limit on what a client sends: 120 commands in any 60 s window (close 4008).
    public static let commandsPerWindow = 120
    public static let commandWindow: Double = 60
    private var commands: CommandBudget
    /// REQUEST_GUILD_MEMBERS each read a workspace's member list from its cell: past this rate a
    /// request is answered with RATE_LIMITED instead (the session stays).
    public static let memberRequestsPerWindow = 10
    public static let memberRequestWindow: Double = 10
    private var memberRequests: CommandBudget
    /// Presence updates fan out to every workspace the user is in: past this rate the latest
    /// one waits for the next window (earlier ones it replaces are never sent).
    public static let presenceUpdatesPerWindow = 5
    public static let presenceUpdateWindow: Double = 20
    private var presenceUpdates: CommandBudget
    private var pendingPresence: IdentifyPayload.Presence?

    public init(now: Double, heartbeatInterval: Double = 41.25, identifyTimeout: Double = 30) {
        self.heartbeatInterval = heartbeatInterval
        self.identifyTimeout = identifyTimeout
        connectedAt = now
        lastHeartbeat = now
        commands = CommandBudget(limit: Self.commandsPerWindow, window: Self.commandWindow, now: now)
        memberRequests = CommandBudget(limit: Self.memberRequestsPerWindow, window: Self.memberRequestWindow, now: now)
        presenceUpdates = CommandBudget(limit: Self.presenceUpdatesPerWindow, window: Self.presenceUpdateWindow, now: now)
    }

    /// The first frame: HELLO.
    public func hello() -> Action {
        .send(ServerFrame.hello(interval: .milliseconds(Int(heartbeatInterval * 1000))))
    }

    /// A heartbeat may come up to half an interval late (network jitter, client jitter).
    var heartbeatDeadline: Double { lastHeartbeat + heartbeatInterval * 1.5 }

    public mutating func receive(_ bytes: [UInt8], now: Double) -> [Action] {
        if case .closed = phase { return [] }
        guard commands.take(now: now) == nil else { return close(.rateLimited) }
        // Strict syntax first: the decoder would take trailing commas, recurse once per nesting
        // level of a hostile frame, and let U+0000 through to the cells.
        guard bytes.count <= maximumClientPayloadBytes, (try? JSONSyntax.check(bytes)) != nil,
              let frame = ClientFrame(heartbeat: bytes) ?? (try? WireJSON.decode(ClientFrame.self, from: Data(bytes))) else { return close(.decodeError) }
        guard let op = GatewayOpcode(rawValue: frame.op) else { return close(.unknownOpcode) }
        switch op {
        case .heartbeat:
            lastHeartbeat = now
            if case .value(.int(let seq)?) = frame.d, seq <= sequence { clientSequence = max(clientSequence, seq) }
            return [.send(ServerFrame.heartbeatAck)]
        case .identify:
            guard phase == .connected else { return close(.alreadyAuthenticated) }
            guard case .identify(let payload?) = frame.d else { return close(.decodeError) }
            guard Intents(rawValue: payload.intents).isSubset(of: .known), payload.intents >= 0 else { return close(.invalidIntents) }
            phase = .authenticating
            lastHeartbeat = now
            return [.authenticate(payload)]
        case .resume:
            guard phase == .connected else { return close(.alreadyAuthenticated) }
            guard case .resume(let payload?) = frame.d else { return close(.decodeError) }
            phase = .authenticating
            lastHeartbeat = now
            return [.resume(payload)]
        case .presenceUpdate:
            guard phase == .ready else { return close(.notAuthenticated) }
            guard case .presenceUpdate(let presence?) = frame.d else { return close(.decodeError) }
            guard presenceUpdates.take(now: now) == nil else {
                pendingPresence = presence
                return []
            }
            pendingPresence = nil
            return [.updatePresence(presence)]
        case .requestGuildMembers:
            guard phase == .ready else { return close(.notAuthenticated) }
            guard case .requestGuildMembers(let payload?) = frame.d else { return close(.decodeError) }
            if let wait = memberRequests.take(now: now) {
                return [.rateLimited(opcode: GatewayOpcode.requestGuildMembers.rawValue, retryAfter: wait, request: payload)]
            }
            return [.requestGuildMembers(payload)]
        case .channelSubscriptions:
            guard phase == .ready else { return close(.notAuthenticated) }
            guard case .channelSubscriptions(let payload?) = frame.d else { return close(.decodeError) }
            return [.subscribe(payload)]
        case .voiceStateUpdate:
            guard phase == .ready else { return close(.notAuthenticated) }
            return []
        case .dispatch, .reconnect, .invalidSession, .hello, .heartbeatAck:
            return close(.unknownOpcode)
        }
    }

    /// Called periodically: closes sessions that stopped heartbeating or never identified, and
    /// sends a presence update held back by its rate once the next window opens.
    public mutating func tick(now: Double) -> [Action] {
        switch phase {
        case .closed: return []
        case .connected where now - connectedAt > identifyTimeout: return close(.notAuthenticated)
        default:
            if now > heartbeatDeadline { return close(.sessionTimedOut) }
            guard phase == .ready, let presence = pendingPresence, presenceUpdates.take(now: now) == nil else { return [] }
            pendingPresence = nil
            return [.updatePresence(presence)]
        }
    }

    /// The edge verified the IDENTIFY token: the session is ready for READY and dispatches.
    public mutating func identified(intents: Intents) {
        self.intents = intents
        phase = .ready
        sequence = 0
        wasReady = true
    }

    /// A session handed over by another edge resumes here: ready, numbering on from `sequence`.
    public mutating func restored(intents: Intents, sequence: Int64, now: Double) {
        self.intents = intents
        self.sequence = sequence
        reattached(now: now)
    }

    /// A dropped session was resumed on a new socket: it is ready again and its heartbeat
    /// clock restarts; its sequence carries on.
    public mutating func reattached(now: Double) {
        phase = .ready
        wasReady = true
        lastHeartbeat = now
    }

    /// After op 9 (an IDENTIFY too soon after the bot's last, a RESUME of a session that is
    /// gone) the socket may IDENTIFY again, as Discord's does; the identify timeout still runs
    /// from the connection's start.
    public mutating func invalidated() { if phase == .authenticating { phase = .connected } }

    public mutating func authenticationFailed() -> [Action] { close(.authenticationFailed) }

    /// Numbers an event for this session and returns its frame; nil when the session is not
    /// ready or its intents exclude the event.
    public mutating func dispatch(_ type: String, data: String, direct: Bool = false) -> Dispatch? {
        dispatch(DispatchBody(type: type, data: data), needs: Self.neededIntent(for: type, direct: direct))
    }

    /// `needs`: what `neededIntent` answers for the event, worked out once for every session;
    /// `body` is the event's, shared by every session it goes to.
    public mutating func dispatch(_ body: DispatchBody, needs: Intents?) -> Dispatch? {
        // A session closed after it was ready (no heartbeat in time, a broken frame, a flood)
        // goes on numbering what it is sent, kept for a RESUME within the window as a dropped
        // socket's session does: it stays resumable, and a resume must not replay around a gap.
        // (Under a loaded test run, 567 messages went unnumbered after a 4009 and the resume
        // that followed replayed without them.)
        guard wasReady else { return nil }
        if let needs, !intents.contains(needs) { return nil }
        sequence += 1
        return Dispatch(seq: sequence, body: body)
    }

    /// The intent a session must have asked for to receive an event (nil: none). GUILD_CREATE
    /// and GUILD_DELETE reach every session: they change which workspaces it follows.
    public static func neededIntent(for type: String, direct: Bool) -> Intents? {
        guard type != "GUILD_CREATE", type != "GUILD_DELETE" else { return nil }
        return Intents.required(for: type, direct: direct)
    }

    private mutating func close(_ code: GatewayCloseCode) -> [Action] {
        phase = .closed(code)
        return [.close(code)]
    }
}
