import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// Opens TCP connections (TLS where given) to one Redis server with the protocol handler
/// installed, and authenticates them (AUTH) when the server needs a password: as an ACL user
/// when `user` is given, else as the default user.
struct RedisConnector: Sendable {
    let host: String
    let port: Int
    let user: String?
    let password: String?
    let group: any EventLoopGroup
    let tls: NIOSSLContext?

    /// `loop`: the event loop the connection lives on (by default the group's next).
    func connect(on loop: (any EventLoop)? = nil, onPush: (@Sendable (RedisValue) -> Void)? = nil) -> EventLoopFuture<any Channel> {
        let tcp = ClientBootstrap(group: loop ?? group.next())
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(2))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        // No server name for an IP address (TLS sends none); the certificate is still checked.
                        let name = host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : host
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: name))
                        try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(promise: channel.eventLoop.makePromise()))
                    }
                    try channel.pipeline.syncOperations.addHandler(RedisProtocolHandler(onPush: onPush))
                }
            }
            .connect(host: host, port: port)
        // With TLS, connected means handshaken, within seconds (a server that does not speak TLS
        // would otherwise leave every command waiting forever).
        let connecting = tls == nil ? tcp : tcp.flatMap { channel in
            channel.pipeline.handler(type: HandshakeWatcher.self).flatMap { watcher in
                let timeout = channel.eventLoop.scheduleTask(in: .seconds(5)) {
                    watcher.promise.fail(RedisError.connectionClosed)
                    channel.close(promise: nil)
                }
                return watcher.promise.futureResult.map { timeout.cancel(); return channel }
            }
        }
        guard let password else { return connecting }
        return connecting.flatMap { channel in
            let auth = [Array("AUTH".utf8)] + (user.map { [Array($0.utf8)] } ?? []) + [Array(password.utf8)]
            return Self.write([auth], on: channel).flatMapThrowing { replies in
                _ = try Self.outcome(replies.first).get()
                return channel
            }.flatMapErrorThrowing { error in
                channel.close(promise: nil)
                throw error
            }
        }
    }

    /// Writes one command and waits for its reply (an error reply is thrown).
    static func send(_ arguments: [[UInt8]], on channel: any Channel) async throws -> RedisValue {
        try outcome(try await write([arguments], on: channel).get().first).get()
    }

    /// A reply as its command's outcome: an error reply (or none at all) is a failure.
    static func outcome(_ reply: RedisValue?) -> Result<RedisValue, RedisError> {
        switch reply {
        case .error(let message)?: .failure(.server(message))
        case let reply?: .success(reply)
        case nil: .failure(.protocolError)
        }
    }

    /// SUBSCRIBE to several topics in one command; Redis confirms each topic with a reply of its own.
    static func subscribe(_ topics: [String], on channel: any Channel) async throws {
        guard !topics.isEmpty else { return }
        let command = [Array("SUBSCRIBE".utf8)] + topics.map { Array($0.utf8) }
        for reply in try await write([command], replies: topics.count, on: channel).get() { _ = try outcome(reply).get() }
    }

    /// Writes commands in one write and flush; the future has their replies in order (one per
    /// command unless `replies` says how many they make in all).
    static func write(_ commands: [[[UInt8]]], replies: Int? = nil, on channel: any Channel) -> EventLoopFuture<[RedisValue]> {
        guard !commands.isEmpty else { return channel.eventLoop.makeSucceededFuture([]) }
        let promise = channel.eventLoop.makePromise(of: [RedisValue].self)
        var bytes = channel.allocator.buffer(capacity: 0)
        for command in commands { RedisProtocolHandler.encode(command, into: &bytes) }
        channel.writeAndFlush(RedisRequest(bytes: bytes, replies: replies ?? commands.count, promise: promise)).whenFailure { _ in
            promise.fail(RedisError.connectionClosed)
        }
        return promise.futureResult
    }
}

/// Completes its promise when the TLS handshake does, and fails it if the connection goes first.
final class HandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    let promise: EventLoopPromise<Void>

    init(promise: EventLoopPromise<Void>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { promise.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(RedisError.connectionClosed)
        context.fireChannelInactive()
    }

    /// A connection that never came up (refused, or closed by a link before TLS began) is never
    /// active, so never inactive either: its watcher still answers (a second answer is ignored).
    func handlerRemoved(context: ChannelHandlerContext) {
        promise.fail(RedisError.connectionClosed)
    }
}
