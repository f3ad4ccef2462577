import HummingbirdCore
import Logging
import NIOCore

/// What one client address may hold of a server: how many connections at once, and how long a
/// new connection may take to send its first complete request head (a slowloris sends one byte
/// a minute and holds a connection forever). Later requests on a kept-alive connection fall
/// under the HTTP server's idle timeout.
public final class ConnectionGuard: Sendable {
    /// The largest first request head (request line and headers) and request line read; longer
    /// ones are answered 431 and 414.
    public static let maximumHeadBytes = 32 << 10
    public static let maximumRequestLineBytes = 8 << 10
    public let headTimeout: TimeAmount
    let connections: AddressCounts

    public init(connectionsPerAddress: Int = 256, headTimeout: TimeAmount = .seconds(10)) {
        connections = AddressCounts(limit: connectionsPerAddress)
        self.headTimeout = headTimeout
    }
}

/// Passes bytes through untouched; counts the connection against its address and closes it if
/// no request head (up to its blank line) has arrived in time.
final class ConnectionGuardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let limits: ConnectionGuard
    private var address: String?
    private var deadline: Scheduled<Void>?
    private var headComplete = false
    private var head = RequestHeadScan()

    init(guard limits: ConnectionGuard) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    /// Once per connection, whether it was active when the handler was added or became so later.
    private func start(_ context: ChannelHandlerContext) {
        guard address == nil, !refused else { return }
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard limits.connections.admit(address) else {
            refused = true
            context.close(promise: nil)
            return
        }
        self.address = address
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: limits.headTimeout) { channel.close(promise: nil) }
    }
    private var refused = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After a refusal, what else arrives is read and dropped (see `refuse`).
        if refusedRequest { return }
        if !headComplete {
            unwrapInboundIn(data).withUnsafeReadableBytes { head.read($0) }
            if (head.requestLineLength ?? head.headBytes) > ConnectionGuard.maximumRequestLineBytes {
                // Refused here: the HTTP decoder behind would fail on it without answering.
                refuse(context, (414, "URI Too Long"))
                return
            }
            if (head.headLength ?? head.headBytes) > ConnectionGuard.maximumHeadBytes {
                refuse(context, (431, "Request Header Fields Too Large"))
                return
            }
            if head.headLength != nil {
                headComplete = true
                // A cancelled task still holds its promise: dropped, so a long-lived connection
                // (a gateway socket) does not keep it.
                deadline?.cancel()
                deadline = nil
            }
        }
        context.fireChannelRead(data)
    }

    /// Answers in Discord's error shape, without passing anything on. The write side closes
    /// after the answer, but the rest of what the client is still sending is read and dropped
    /// for a moment before the connection closes: closing with unread input would reset the
    /// connection, and the client could lose the answer.
    private func refuse(_ context: ChannelHandlerContext, _ status: (code: Int, reason: String)) {
        headComplete = true
        refusedRequest = true
        deadline?.cancel()
        let body = #"{"code":0,"message":"\#(status.code): \#(status.reason)"}"#
        let response = "HTTP/1.1 \(status.code) \(status.reason)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let channel = context.channel
        context.writeAndFlush(NIOAny(ByteBuffer(string: response))).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
    }
    private var refusedRequest = false

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        if let address { limits.connections.release(address) }
        address = nil
        context.fireChannelInactive()
    }
}

/// A server's child channels with a `ConnectionGuard` in front of whatever they set up.
public struct GuardedChildChannel<Inner: ServerChildChannel>: ServerChildChannel {
    public typealias Value = Inner.Value
    let inner: Inner
    let limits: ConnectionGuard

    public init(_ inner: Inner, guard limits: ConnectionGuard) {
        self.inner = inner
        self.limits = limits
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ConnectionGuardHandler(guard: limits), position: .first)
        }.flatMap { inner.setup(channel: channel, logger: logger) }
    }

    public func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
