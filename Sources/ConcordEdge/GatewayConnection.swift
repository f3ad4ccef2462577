import ConcordGateway
import ConcordModels
import CoreMetrics
import Foundation
import NIOCore
import NIOWebSocket
import Synchronization

/// A socket's frame output. Frames are encoded into one buffer per socket as they are written,
/// and one event-loop task writes everything queued as a single write with one flush: under
/// load a socket gets many frames per system call, and fan-out costs neither a task nor a trip
/// through a frame encoder per delivery. The buffer goes down the pipeline as bytes, beside the
/// socket handler's own frames (pongs, closes), which leave on the same event loop, so never
/// inside one of these. Frames leave in the order they were written; the callers hold
/// their session's lock, which fixes that order. The compression stream has its own lock
/// because a resumed session takes the output over from the socket's first session.
///
/// The bytes written but not yet taken by the socket are counted: a client that stops reading
/// (or reads slower than its events arrive) would otherwise grow the edge without bound. Past
/// `unsentLimit` the socket is closed at once; the session stays resumable, and what it was
/// not sent is in its resume buffer. A RESUME's replay is not counted: it is bounded by the
/// resume buffer already, and a client that has just reconnected is about to read it.
///
/// A flush into a writable socket is taken as sent: the channel then holds less than its high
/// water mark (64 KB), and tracking each such write to its end cost a promise and a callback
/// per delivery. Once the channel stops being writable (its reader is behind), each flush is
/// counted until the socket takes it. So a socket holds at most the limit, the water mark and
/// the one flush that crossed it.
final class SocketOutput: Sendable {
    /// Enough for a burst of large GUILD_CREATEs at identify; far less than a stalled client
    /// would pile up in a minute of ordinary traffic.
    static let defaultUnsentLimit = 1 << 20

    /// The frames since the last flush (none, and no flush on its way, when both are empty) and
    /// their counted bytes. Uncompressed, they are encoded as they come (`bytes`); compressed,
    /// they wait as text (`frames`) and the flush compresses them on the socket's own event loop,
    /// so a fan-out's compression spreads over the loops instead of running on the one task that
    /// routes the event to every session. The compression stream lives beside them under the
    /// same lock, so its order is the socket's order. Made at the socket's second frame: an
    /// unidentified socket holds no compression context.
    private struct Pending {
        var compressor: DeferredCompressor?
        var bytes: ByteBuffer?
        var frames: [Frame] = []
        var unsent = 0
        /// Whether frames were compressed since the last tick, and for how many ticks none were.
        var compressedSinceTick = false
        var idleTicks = 0

        var isEmpty: Bool { bytes == nil && frames.isEmpty }
    }

    /// One frame to send: encoded at once on an uncompressed socket, kept until the flush on a
    /// compressed one.
    private enum Frame {
        case text(String)
        case dispatch(Dispatch)

        var text: String {
            switch self {
            case .text(let text): text
            case .dispatch(let dispatch): dispatch.frame
            }
        }

        /// About how many bytes it takes uncompressed (a compressed socket counts it by this).
        var size: Int {
            switch self {
            case .text(let text): text.utf8.count + 10
            case .dispatch(let dispatch): dispatch.byteCount + 10
            }
        }

        /// As an uncompressed WebSocket frame; a dispatch is spliced straight into the buffer.
        func append(to buffer: inout ByteBuffer) {
            switch self {
            case .text(let text): WebSocketFrameBytes.append(text: text, to: &buffer)
            case .dispatch(let dispatch): WebSocketFrameBytes.append(dispatch, to: &buffer)
            }
        }
    }

    let channel: any Channel
    /// Where writes enter the pipeline: the socket handler's context, so they skip the tail and
    /// the handler itself on their way to the socket.
    private let entry: NIOLoopBound<ChannelHandlerContext>
    private let pending: Mutex<Pending>
    private let unsent = Atomic<Int>(0)
    private let overflowed = Atomic<Bool>(false)
    let unsentLimit: Int
    private let rounds: FlushRounds?

    init(channel: any Channel, entry: NIOLoopBound<ChannelHandlerContext>, compression: GatewayCompression?,
         unsentLimit: Int = SocketOutput.defaultUnsentLimit, rounds: FlushRounds? = nil) {
        self.channel = channel
        self.entry = entry
        self.unsentLimit = unsentLimit
        self.rounds = rounds
        pending = Mutex(Pending(compressor: compression.map(DeferredCompressor.init)))
    }

    /// - Parameter replay: a frame of a RESUME's replay.
    func write(_ text: String, replay: Bool = false) { write(.text(text), replay: replay) }

    /// A numbered dispatch.
    func write(_ dispatch: Dispatch) { write(.dispatch(dispatch), replay: false) }

    private func write(_ frame: Frame, replay: Bool) {
        guard !overflowed.load(ordering: .relaxed) else { return }
        let (schedule, overflow) = pending.withLock { p -> (Bool, Bool) in
            // Frames waiting means a flush is already on its way.
            let scheduled = !p.isEmpty
            var counted = frame.size
            if p.compressor != nil {
                p.frames.append(frame)
            } else {
                // Taken out while it grows: a second reference would copy it.
                var bytes = p.bytes ?? channel.allocator.buffer(capacity: max(512, counted))
                p.bytes = nil
                let before = bytes.readableBytes
                frame.append(to: &bytes)
                counted = bytes.readableBytes - before
                p.bytes = bytes
            }
            guard !replay else { return (!scheduled, false) }
            guard unsent.wrappingAdd(counted, ordering: .relaxed).newValue <= unsentLimit else {
                unsent.wrappingSubtract(counted, ordering: .relaxed)
                if p.compressor != nil {
                    p.frames.removeLast()
                } else if var bytes = p.bytes {
                    p.bytes = nil
                    bytes.moveWriterIndex(to: bytes.writerIndex - counted)
                    p.bytes = scheduled ? bytes : nil
                }
                return (false, true)
            }
            p.unsent += counted
            return (!scheduled, false)
        }
        if overflow {
            if !overflowed.exchange(true, ordering: .relaxed) { channel.close(promise: nil) }
        } else if schedule, rounds?.hold(self) != true {
            scheduleFlush()
        }
    }

    func scheduleFlush() { channel.eventLoop.execute { [self] in flushQueue() } }

    /// On the event loop: everything queued since the last run (compressed here, in order), one
    /// write and one flush.
    func flushQueue() {
        let taken = pending.withLock { p in
            defer { (p.bytes, p.frames, p.unsent) = (nil, [], 0) }
            guard let compressor = p.compressor, !p.frames.isEmpty else { return (bytes: p.bytes, unsent: p.unsent) }
            p.compressedSinceTick = true
            var bytes = channel.allocator.buffer(capacity: 256 * p.frames.count)
            for frame in p.frames { WebSocketFrameBytes.append(opcode: .binary, compressor.compress(frame.text), to: &bytes) }
            return (bytes: Optional(bytes), unsent: p.unsent)
        }
        guard let bytes = taken.bytes, bytes.readableBytes > 0 else { return }
        guard !channel.isWritable, taken.unsent > 0 else {
            unsent.wrappingSubtract(taken.unsent, ordering: .relaxed)
            entry.value.writeAndFlush(NIOAny(bytes), promise: nil)
            return
        }
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { [self] _ in unsent.wrappingSubtract(taken.unsent, ordering: .relaxed) }
        entry.value.writeAndFlush(NIOAny(bytes), promise: written)
    }
}

extension SocketOutput {
    /// Once a tick: releases the compression context of a socket that compressed nothing for
    /// `limit` ticks, where its stream can be carried on by a new one (see
    /// `DeferredCompressor.release`); answers whether it released one. Most sessions of a large
    /// community are idle most of the time, and an idle zlib context held ~27 KB of the edge
    /// per session (`make bench-fanout`); a socket in a conversation keeps its context, and the
    /// history it compresses against.
    func releaseIdleCompression(afterTicks limit: Int) -> Bool {
        pending.withLock { p in
            guard let compressor = p.compressor, compressor.isAllocated else { return false }
            guard !p.compressedSinceTick, p.frames.isEmpty else {
                (p.compressedSinceTick, p.idleTicks) = (false, 0)
                return false
            }
            p.idleTicks += 1
            guard p.idleTicks >= limit else { return false }
            p.idleTicks = 0
            return compressor.release()
        }
    }

    /// Whether the socket holds a compression context now.
    var holdsCompressionContext: Bool { pending.withLock { $0.compressor?.isAllocated == true } }
}

/// Where a cell event came from: its cell and its outbox sequence (0 for ephemeral events).
struct EventOrigin: Sendable, Hashable {
    var cell: Int
    var seq: Int64
}

/// One gateway session's state, shared by its socket reader, its ticker, the hub that delivers
/// events to it, and (after a drop) the RESUME that reattaches it to a new socket. Everything
/// that numbers a dispatch happens under one lock, so sequence order is delivery order.
final class GatewayConnection: Sendable {
    struct State {
        var machine: GatewaySession
        /// Counts every numbered dispatch (the edge's deliveries).
        var deliveries: CoreMetrics.Counter?
        var buffer = ResumeBuffer()
        /// Where frames go while a socket is attached.
        var output: SocketOutput?
        /// The attached socket's closing: a close goes through the WebSocket handshake.
        var closer: SocketCloser?
        var userID: Snowflake?
        var isBot = false
        /// The Authorization value the session identified with, for calls made on its behalf.
        var authorization: String?
        /// The token the session identified (or last resumed) with: revoking it ends the session.
        var tokenID: Snowflake?
        var guilds: Set<Snowflake> = []
        var sessionID: String?
        /// When a dropped session stops being resumable.
        var detachedUntil: Double?
        /// Cell id → the highest outbox sequence delivered to this session.
        var cursors: [Int: Int64] = [:]
        /// While the outbox is read back for this session, live events wait here.
        var catchUps = 0
        var held: [Delivery] = []
        /// Sequences delivered by read-backs still running, so two of them never repeat one.
        var caughtUp: Set<EventOrigin> = []
        /// Set when a draining edge has handed the session over: nothing more is numbered here.
        var handedOver = false
        /// The status this session asked for (IDENTIFY's presence, op 3).
        var presence = PresenceState(status: .online)
        /// What the session asked to receive per channel (op 40), for large workspaces.
        var levels = SubscriptionLevels()
        /// Which channels the user can view, followed event by event in delivery order (nil
        /// until the session is identified).
        var visibility: ChannelVisibility?
    }

    let state: Mutex<State>

    init(now: Double, heartbeatInterval: Double, output: SocketOutput?, closer: SocketCloser?,
         deliveries: CoreMetrics.Counter? = nil) {
        state = Mutex(State(machine: GatewaySession(now: now, heartbeatInterval: heartbeatInterval), deliveries: deliveries, output: output, closer: closer))
    }

    /// Numbers a dispatch the edge itself produces (READY, GUILD_CREATE at identify, RESUMED, …).
    func deliver(_ type: String, data: String) {
        deliver(DispatchBody(type: type, data: data))
    }

    func deliver(_ body: DispatchBody) {
        state.withLock { s in Self.dispatch(&s, body) }
    }

    /// READY: numbered and sent, not kept for a RESUME (whoever can resume has it).
    func deliverReady(_ data: String) {
        state.withLock { s in Self.dispatch(&s, DispatchBody(type: "READY", data: data), kept: false) }
    }

    /// A live event from a cell, made into the session's delivery and numbered under one lock:
    /// held while a read-back runs, dropped if already delivered. Its visibility is judged when
    /// the event's turn comes, not when it arrives, so events held during a read-back are judged
    /// after the read-back's own. Answers the session's user.
    func deliverLive(_ routed: inout RoutedEvent, origin: EventOrigin) -> Snowflake? {
        state.withLock { s in
            guard let delivery = Self.delivery(&routed, origin: origin, to: &s) else { return s.userID }
            if s.catchUps > 0 { s.held.append(delivery) } else { Self.dispatchEvent(&s, delivery) }
            return s.userID
        }
    }

    /// An event read back from a cell's outbox. One after the cursor moves it; one at or before
    /// it is delivered only when it belongs to a workspace the session has just joined.
    func deliverReadBack(_ routed: inout RoutedEvent, origin: EventOrigin, joined: Set<Snowflake>) -> Snowflake? {
        let guild = routed.event.event.guildID
        return state.withLock { s in
            guard !s.caughtUp.contains(origin), let delivery = Self.delivery(&routed, origin: origin, to: &s) else { return s.userID }
            if origin.seq <= s.cursors[origin.cell, default: 0] {
                guard let guild, joined.contains(guild), s.visibility?.admit(delivery.visibility) ?? true else { return s.userID }
                Self.dispatch(&s, delivery.body)
            } else {
                Self.dispatchEvent(&s, delivery)
            }
            s.caughtUp.insert(origin)
            return s.userID
        }
    }

    func beginCatchUp() { state.withLock { $0.catchUps += 1 } }

    /// Ends a read-back: when it was the last one, the held live events go out, minus those the
    /// read-backs already delivered.
    func endCatchUp() {
        state.withLock { s in
            s.catchUps -= 1
            guard s.catchUps == 0 else { return }
            let held = s.held
            s.held = []
            for delivery in held where !s.caughtUp.contains(delivery.origin) { Self.dispatchEvent(&s, delivery) }
            s.caughtUp = []
        }
    }

    private static func dispatchEvent(_ s: inout State, _ delivery: Delivery) {
        let origin = delivery.origin
        if origin.seq > 0 {
            guard Self.advance(&s.cursors[origin.cell, default: 0], to: origin.seq) else { return }
        }
        guard s.visibility?.admit(delivery.visibility) ?? true else { return }
        dispatch(&s, delivery.body, needs: delivery.needs)
    }

    /// The event as this session gets it (its levels, who it is), or nil.
    private static func delivery(_ routed: inout RoutedEvent, origin: EventOrigin, to s: inout State) -> Delivery? {
        routed.delivery(origin: origin, levels: &s.levels, user: s.userID, isBot: s.isBot, intents: s.machine.intents)
    }

    /// Moves a cursor forward (one hash of the cell, not one to read and one to write).
    private static func advance(_ cursor: inout Int64, to seq: Int64) -> Bool {
        guard seq > cursor else { return false }
        cursor = seq
        return true
    }

    /// An event numbered outside the cell's live routing (the edge's own, or one a read-back
    /// gives a workspace just joined): never a DM's.
    private static func dispatch(_ s: inout State, _ body: DispatchBody, kept: Bool = true) {
        dispatch(&s, body, needs: GatewaySession.neededIntent(for: body.type, direct: false), kept: kept)
    }

    private static func dispatch(_ s: inout State, _ body: DispatchBody, needs: Intents?, kept: Bool = true) {
        guard !s.handedOver, let dispatch = s.machine.dispatch(body, needs: needs) else { return }
        if kept { s.buffer.append(dispatch) } else { s.buffer.sentOnly(dispatch) }
        s.output?.write(dispatch)
        s.deliveries?.increment()
    }

    /// The event loop of the session's socket; nil while no socket is attached (a session
    /// waiting to be resumed, or adopted from another edge).
    var eventLoop: (any EventLoop)? {
        state.withLock { $0.output?.channel.eventLoop }
    }

    /// A frame that is not a numbered dispatch (HELLO's kin: ACKs, op 7, op 9, …).
    func send(_ frame: String) {
        state.withLock { s in s.output?.write(frame) }
    }

    func close(_ code: GatewayCloseCode) {
        state.withLock { s in s.closer?.yield(code) }
    }

    /// Frames a drain hands over per session at most: clients acknowledge what they received in
    /// every heartbeat, so only a few are normally pending; a client further behind gets op 9.
    static let handOverLimit = 200

    /// Stops numbering here and returns what another edge needs to resume the session: its
    /// frames as positions in `tables`' table for the user's home cell (stored at `key(cell)`).
    func handOver(into tables: inout [Int: HandOverTable], key: (Int) -> String) -> HandedOverSession? {
        state.withLock { s in
            guard let user = s.userID, s.sessionID != nil, !s.handedOver else { return nil }
            s.handedOver = true
            let kept = s.buffer.handOver(after: s.machine.clientSequence, limit: Self.handOverLimit, into: &tables[user.cell, default: HandOverTable()])
            return HandedOverSession(userID: user, isBot: s.isBot, intents: s.machine.intents.rawValue, sequence: s.machine.sequence,
                                     guilds: Array(s.guilds), cursors: Dictionary(uniqueKeysWithValues: s.cursors.map { ("\($0.key)", $0.value) }),
                                     frames: [], presence: s.presence,
                                     shared: SharedFrames(table: key(user.cell), firstSeq: kept.firstSeq, bodies: kept.bodies))
        }
    }

    var sessionID: String? { state.withLock { $0.sessionID } }
    var userID: Snowflake? { state.withLock { $0.userID } }
    var guilds: Set<Snowflake> { state.withLock { $0.guilds } }
}
