import ConcordGateway
import Dispatch
import NIOCore
import NIOPosix
import Synchronization

/// What one receiving session saw: filled on its channel's event loop, read after the run.
final class SessionLog: Sendable {
    /// (message number, receipt time in monotonic nanoseconds)
    let receipts = Mutex<[(Int32, UInt64)]>([])
    let ready = Atomic<Bool>(false)
    let closeCode = Atomic<Int>(0)
    /// How often the session started over because its compressed stream could not be read.
    let restarts = Atomic<Int>(0)
    let failed = Atomic<Bool>(false)
    /// The last dispatch's sequence, which heartbeats acknowledge (as libraries do).
    let lastSeq = Atomic<Int>(0)
    /// When set, the session's first heartbeat comes this long after READY instead of at a
    /// random point of the interval: "idle" then means after that first acknowledgement.
    let firstHeartbeat: TimeAmount?
    /// The session's socket once upgraded, so the run can end the session itself (`leave`).
    let channel = Mutex<(any Channel)?>(nil)

    /// Whether the attempt under way has settled (READY, or the socket ended), and who waits for it.
    private let settlement = Mutex<(settled: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    init(firstHeartbeat: TimeAmount? = nil) {
        self.firstHeartbeat = firstHeartbeat
    }

    /// READY came, or the socket ended: whoever waits goes on.
    func settle() {
        let waiter = settlement.withLock { state in
            state.settled = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// A new attempt: unsettled until it settles again.
    func unsettle() { settlement.withLock { $0.settled = false } }

    /// Returns once the attempt settles, or after `limit`, without polling.
    func waitUntilSettled(limit: Duration) async {
        let timer = Task { [self] in
            try await Task.sleep(for: limit)
            settle()
        }
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let settled = settlement.withLock { state in
                if !state.settled { state.waiter = waiter }
                return state.settled
            }
            if settled { waiter.resume() }
        }
        timer.cancel()
    }
    /// `closeCode` of a session whose compressed stream could not be read.
    static let unreadableStream = -1
}

/// A gateway session as a bare NIO handler, so one event loop carries thousands of them
/// cheaply: it upgrades, identifies, heartbeats, and stamps each MESSAGE_CREATE whose content
/// is "fanout N" with its arrival time. It reads frames where they lie in the received bytes
/// (`ClientWebSocket`) and scans them instead of decoding JSON, which keeps the load generator
/// far below the edge's cost per frame.
final class FanoutSession: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let log: SessionLog
    /// With `compress=` on the URL, the edge sends binary frames of one stream per socket.
    private let decompressor: (any GatewayDecompressor)?
    private let request: String
    /// Succeeds once the edge has switched protocols; fails if the socket ends before.
    private let upgraded: EventLoopPromise<Void>
    private var switched = false
    /// Bytes of a frame (or of the response head) not all in yet.
    private var pending: [UInt8] = []
    /// A message's frames so far, when the edge splits one.
    private var fragments: (opcode: UInt8, bytes: [UInt8])?
    private var heartbeat: RepeatedTask?
    private static let hello = Array(#""op":10"#.utf8)
    private static let intervalKey = Array(#""heartbeat_interval":"#.utf8)
    private static let ready = Array(#""t":"READY""#.utf8)
    private static let marker = Array(#""content":"fanout "#.utf8)
    /// A dispatch ends `,"s":N,"t":"TYPE"}`: the sequence is looked for in its last bytes only.
    private static let sequenceKey = Array(#","s":"#.utf8)

    init(log: SessionLog, request: String, upgraded: EventLoopPromise<Void>, compression: GatewayCompression? = nil) {
        self.log = log
        self.request = request
        self.upgraded = upgraded
        decompressor = compression?.makeDecompressor()
    }

    func channelActive(context: ChannelHandlerContext) {
        log.channel.withLock { $0 = context.channel }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    /// Ends the session as a client that is done does: a close frame with 1000, then the socket.
    static func leave(_ log: SessionLog) async {
        guard let channel = log.channel.withLock({ $0 }) else { return }
        let code = [UInt8(1000 >> 8), UInt8(1000 & 0xFF)]
        try? await channel.writeAndFlush(ClientWebSocket.frame(opcode: 8, code, allocator: channel.allocator))
        try? await channel.closeFuture.get()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if pending.isEmpty {
            let used = buffer.withUnsafeReadableBytes { consume($0, context: context) }
            if used < buffer.readableBytes { pending = Array(buffer.readableBytesView.dropFirst(used)) }
        } else {
            pending += buffer.readableBytesView
            let used = pending.withUnsafeBytes { consume($0, context: context) }
            pending.removeFirst(used)
        }
    }

    /// Reads the response head, then every whole frame; answers how many bytes it used.
    private func consume(_ bytes: UnsafeRawBufferPointer, context: ChannelHandlerContext) -> Int {
        var at = 0
        if !switched {
            guard let head = ClientWebSocket.responseHead(in: bytes) else {
                // A server that never ends its head would otherwise grow this without bound.
                if bytes.count > ClientWebSocket.largestResponseHead { context.close(promise: nil); return bytes.count }
                return 0
            }
            guard head.switched else {
                context.close(promise: nil)
                return bytes.count
            }
            switched = true
            upgraded.succeed()
            startHeartbeat(41_250, context: context)
            at = head.end
        }
        while true {
            switch ClientWebSocket.parse(bytes, at: at) {
            case .incomplete:
                return at
            case .invalid:
                context.close(promise: nil)
                return bytes.count
            case .frame(let frame, let next):
                receive(frame, context: context)
                at = next
            }
        }
    }

    private func receive(_ frame: ClientWebSocket.Frame, context: ChannelHandlerContext) {
        switch frame.opcode {
        case 0, 1, 2:
            if frame.opcode != 0, frame.fin {
                message(opcode: frame.opcode, frame.payload, context: context)
                return
            }
            var whole = fragments ?? (frame.opcode, [])
            whole.bytes += frame.payload
            fragments = whole
            guard frame.fin else { return }
            fragments = nil
            whole.bytes.withUnsafeBytes { message(opcode: whole.opcode, $0, context: context) }
        case 8:
            let code = frame.payload.count >= 2 ? Int(frame.payload[0]) << 8 | Int(frame.payload[1]) : 0
            log.closeCode.store(code, ordering: .relaxed)
            log.settle()
            context.close(promise: nil)
        case 9:
            context.writeAndFlush(wrapOutboundOut(ClientWebSocket.frame(opcode: 10, frame.payload, allocator: context.channel.allocator)),
                                  promise: nil)
        default:
            break
        }
    }

    private func message(opcode: UInt8, _ payload: UnsafeRawBufferPointer, context: ChannelHandlerContext) {
        if opcode == 1 { return scan(payload, context: context) }
        guard let decompressor else { return }
        // A stream read from its middle cannot be inflated: the session starts over
        // (SessionPool). It should not happen: HELLO, which starts the stream, comes in the
        // same bytes as the upgrade's response or after them, and both are read here.
        guard var text = decompressor.decompress(Array(payload)) else {
            log.closeCode.store(SessionLog.unreadableStream, ordering: .relaxed)
            log.settle()
            context.close(promise: nil)
            return
        }
        text.withUTF8 { scan(UnsafeRawBufferPointer($0), context: context) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func scan(_ bytes: UnsafeRawBufferPointer, context: ChannelHandlerContext) {
        let now = DispatchTime.now().uptimeNanoseconds
        let tail = UnsafeRawBufferPointer(rebasing: bytes[max(0, bytes.count - 64)...])
        if let seq = Self.number(after: Self.sequenceKey, in: tail), seq > 0 { log.lastSeq.store(seq, ordering: .relaxed) }
        if let n = Self.number(after: Self.marker, in: bytes) {
            log.receipts.withLock { $0.append((Int32(n), now)) }
        } else if ByteSearch.end(of: Self.ready, in: bytes) != nil {
            log.ready.store(true, ordering: .relaxed)
            log.settle()
            if let delay = log.firstHeartbeat {
                heartbeat?.cancel()
                startHeartbeat(41_250, context: context, first: delay)
            }
        } else if ByteSearch.end(of: Self.hello, in: bytes) != nil, let interval = Self.number(after: Self.intervalKey, in: bytes) {
            heartbeat?.cancel()
            startHeartbeat(interval, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        heartbeat?.cancel()
        log.settle()
        if !switched { upgraded.fail(FanoutError.notUpgraded) }
        context.fireChannelInactive()
    }

    /// `first`: the first heartbeat's delay (default: a random point of the interval, as Discord asks).
    private func startHeartbeat(_ interval: Int, context: ChannelHandlerContext, first: TimeAmount? = nil) {
        let channel = context.channel
        let log = log
        heartbeat = context.eventLoop.scheduleRepeatedTask(initialDelay: first ?? .milliseconds(Int64.random(in: 0..<Int64(interval))),
                                                           delay: .milliseconds(Int64(interval))) { _ in
            let seq = log.lastSeq.load(ordering: .relaxed)
            Self.send(#"{"op":1,"d":\#(seq > 0 ? String(seq) : "null")}"#, channel)
        }
    }

    private static func send(_ text: String, _ channel: any Channel) {
        channel.writeAndFlush(ClientWebSocket.frame(opcode: 1, text.utf8, allocator: channel.allocator), promise: nil)
    }

    /// The decimal number right after `key` in `bytes`.
    private static func number(after key: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard var i = ByteSearch.end(of: key, in: bytes) else { return nil }
        var n = 0
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { n = n * 10 + Int(bytes[i] - 48); i += 1 }
        return n
    }

    /// Opens one gateway WebSocket, installs a session on it and identifies once the edge has
    /// switched protocols; the edge accepts IDENTIFY before or after HELLO reaches the session.
    static func connect(host: String, port: Int, path: String, identify: String, log: SessionLog,
                        compression: GatewayCompression? = nil, group: any EventLoopGroup) async throws {
        let loop = group.next()
        let upgraded = loop.makePromise(of: Void.self)
        let request = ClientWebSocket.upgradeRequest(host: host, port: port, path: path)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop).channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FanoutSession(log: log, request: request, upgraded: upgraded,
                                                                                 compression: compression))
                }
            }.connect(host: host, port: port).get()
        } catch {
            upgraded.fail(error)
            throw error
        }
        try await upgraded.futureResult.get()
        send(identify, channel)
    }
}

enum FanoutError: Error { case notUpgraded }
