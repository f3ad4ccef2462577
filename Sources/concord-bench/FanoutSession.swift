import ConcordGateway
import Dispatch
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
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

    init(firstHeartbeat: TimeAmount? = nil) {
        self.firstHeartbeat = firstHeartbeat
    }
    /// `closeCode` of a session whose compressed stream could not be read.
    static let unreadableStream = -1
}

/// A gateway session as a bare NIO handler, so one event loop carries thousands of them
/// cheaply: it identifies, heartbeats, and stamps each MESSAGE_CREATE whose content
/// is "fanout N" with its arrival time. It scans bytes instead of decoding JSON, which keeps the
/// load generator far below the edge's cost per frame.
final class FanoutSession: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let log: SessionLog
    /// With `compress=` on the URL, the edge sends binary frames of one stream per socket.
    private let decompressor: (any GatewayDecompressor)?
    private var heartbeat: RepeatedTask?
    private static let hello = Array(#""op":10"#.utf8)
    private static let intervalKey = Array(#""heartbeat_interval":"#.utf8)
    private static let ready = Array(#""t":"READY""#.utf8)
    private static let marker = Array(#""content":"fanout "#.utf8)
    /// A dispatch ends `,"s":N,"t":"TYPE"}`: the sequence is looked for in its last bytes only.
    private static let sequenceKey = Array(#","s":"#.utf8)

    init(log: SessionLog, compression: GatewayCompression? = nil) {
        self.log = log
        decompressor = compression?.makeDecompressor()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        log.channel.withLock { $0 = context.channel }
        startHeartbeat(41_250, context: context)
    }

    /// Ends the session as a client that is done does: a close frame with 1000, then the socket.
    static func leave(_ log: SessionLog) async {
        guard let channel = log.channel.withLock({ $0 }) else { return }
        var code = channel.allocator.buffer(capacity: 2)
        code.writeInteger(UInt16(1000))
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: code)
        try? await channel.writeAndFlush(frame)
        try? await channel.closeFuture.get()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            frame.unmaskedData.withUnsafeReadableBytes { scan($0, context: context) }
        case .binary:
            guard let decompressor else { break }
            // A stream read from its middle cannot be inflated: the session starts over
            // (SessionPool). It should not happen: HELLO, which starts the stream, is kept even
            // when it arrives in the same read as the upgrade's response (`connect`).
            guard var text = decompressor.decompress(Array(frame.unmaskedData.readableBytesView)) else {
                log.closeCode.store(SessionLog.unreadableStream, ordering: .relaxed)
                context.close(promise: nil)
                break
            }
            text.withUTF8 { scan(UnsafeRawBufferPointer($0), context: context) }
        case .connectionClose:
            var data = frame.unmaskedData
            log.closeCode.store(Int(data.readInteger(as: UInt16.self) ?? 0), ordering: .relaxed)
            context.close(promise: nil)
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)),
                                  promise: nil)
        default:
            break
        }
    }

    private func scan(_ bytes: UnsafeRawBufferPointer, context: ChannelHandlerContext) {
        let now = DispatchTime.now().uptimeNanoseconds
        let tail = UnsafeRawBufferPointer(rebasing: bytes[max(0, bytes.count - 64)...])
        if let seq = Self.number(after: Self.sequenceKey, in: tail), seq > 0 { log.lastSeq.store(seq, ordering: .relaxed) }
        if let n = Self.number(after: Self.marker, in: bytes) {
            log.receipts.withLock { $0.append((Int32(n), now)) }
        } else if Self.find(Self.ready, in: bytes) != nil {
            log.ready.store(true, ordering: .relaxed)
            if let delay = log.firstHeartbeat {
                heartbeat?.cancel()
                startHeartbeat(41_250, context: context, first: delay)
            }
        } else if Self.find(Self.hello, in: bytes) != nil, let interval = Self.number(after: Self.intervalKey, in: bytes) {
            heartbeat?.cancel()
            startHeartbeat(interval, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        heartbeat?.cancel()
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
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: channel.allocator.buffer(string: text))
        channel.writeAndFlush(frame, promise: nil)
    }

    /// Where `needle` ends in `bytes`: memchr for its first byte, memcmp for the rest (this
    /// runs once per received frame).
    private static func find(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress, let first = needle.first else { return nil }
        return needle.withUnsafeBytes { n -> Int? in
            var offset = 0
            while offset + n.count <= bytes.count {
                guard let hit = memchr(base + offset, Int32(first), bytes.count - offset - n.count + 1) else { return nil }
                let at = base.distance(to: UnsafeRawPointer(hit))
                if memcmp(base + at, n.baseAddress!, n.count) == 0 { return at + n.count }
                offset = at + 1
            }
            return nil
        }
    }

    /// The decimal number right after `key` in `bytes`.
    private static func number(after key: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard var i = find(key, in: bytes) else { return nil }
        var n = 0
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { n = n * 10 + Int(bytes[i] - 48); i += 1 }
        return n
    }

    /// Opens one gateway WebSocket, installs a session on it and identifies. IDENTIFY is written
    /// only once the upgrade has finished: until then the HTTP encoder is still in the pipeline;
    /// the edge accepts IDENTIFY before or after HELLO reaches the session.
    static func connect(host: String, port: Int, path: String, identify: String, log: SessionLog,
                        compression: GatewayCompression? = nil, group: any EventLoopGroup) async throws {
        let upgraded: EventLoopFuture<(any Channel)?> = try await ClientBootstrap(group: group).connect(host: host, port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                let upgrader = NIOTypedWebSocketClientUpgrader<(any Channel)?>(maxFrameSize: 1 << 20, upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(FanoutSession(log: log, compression: compression))
                        return channel
                    }
                })
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: "\(host):\(port)")
                let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
                let configuration = NIOTypedHTTPClientUpgradeConfiguration<(any Channel)?>(
                    upgradeRequestHead: head, upgraders: [upgrader],
                    notUpgradingCompletionHandler: { channel in channel.eventLoop.makeSucceededFuture(nil) })
                // HELLO often arrives in the same read as the 101: NIO's default drops whatever the
                // HTTP decoder holds past the response, and a compressed stream read without
                // its first frame cannot be inflated.
                var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration)
                pipeline.leftOverBytesStrategy = .forwardBytes
                return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
            }
        }
        guard let channel = try await upgraded.get() else { throw FanoutError.notUpgraded }
        send(identify, channel)
    }
}

enum FanoutError: Error { case notUpgraded }
