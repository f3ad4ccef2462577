import NIOCore
import NIOPosix

/// Opens TCP connections to one Redis server with the protocol handler installed, and
/// authenticates them (AUTH) when the server needs a password.
struct RedisConnector: Sendable {
    let host: String
    let port: Int
    let password: String?
    let group: any EventLoopGroup

    func connect(onPush: (@Sendable (RedisValue) -> Void)? = nil) -> EventLoopFuture<any Channel> {
        let connecting = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(2))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RedisProtocolHandler(onPush: onPush))
                }
            }
            .connect(host: host, port: port)
        guard let password else { return connecting }
        return connecting.flatMap { channel in
            let promise = channel.eventLoop.makePromise(of: RedisValue.self)
            let bytes = RedisProtocolHandler.encode([Array("AUTH".utf8), Array(password.utf8)], allocator: channel.allocator)
            channel.writeAndFlush(RedisRequest(bytes: bytes, promise: promise)).whenFailure { _ in promise.fail(RedisError.connectionClosed) }
            return promise.futureResult.flatMapErrorThrowing { error in
                channel.close(promise: nil)
                throw error
            }.map { _ in channel }
        }
    }

    /// Writes one command and waits for its reply.
    static func send(_ arguments: [[UInt8]], on channel: any Channel) async throws -> RedisValue {
        let promise = channel.eventLoop.makePromise(of: RedisValue.self)
        let bytes = RedisProtocolHandler.encode(arguments, allocator: channel.allocator)
        channel.writeAndFlush(RedisRequest(bytes: bytes, promise: promise)).whenFailure { _ in
            promise.fail(RedisError.connectionClosed)
        }
        return try await promise.futureResult.get()
    }
}
