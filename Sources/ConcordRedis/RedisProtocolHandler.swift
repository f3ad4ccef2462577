import CHiredis
import NIOCore

/// Commands on their way out in one write, with the promise their replies complete together
/// (error replies among them as `.error` values): one hop to the connection's event loop and
/// one wake-up of the caller per round trip, however many commands it holds.
struct RedisRequest: Sendable {
    var bytes: ByteBuffer
    var replies: Int
    var promise: EventLoopPromise<[RedisValue]>
}

/// Encodes commands with hiredis's `redisFormatCommandArgv` (binary-safe) and decodes replies
/// with a hiredis reader fed from the socket; replies complete requests in FIFO order, so any
/// number of commands can be in flight (pipelining). On a subscriber connection, pushed
/// messages go to `onPush` instead.
final class RedisProtocolHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private let reader: UnsafeMutablePointer<redisReader>
    private var pending = CircularBuffer<(replies: Int, promise: EventLoopPromise<[RedisValue]>)>()
    /// Replies so far to the oldest pending request.
    private var collected: [RedisValue] = []
    private let onPush: (@Sendable (RedisValue) -> Void)?

    init(onPush: (@Sendable (RedisValue) -> Void)? = nil) {
        reader = redisReaderCreate()
        self.onPush = onPush
    }
    deinit { redisReaderFree(reader) }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        pending.append((request.replies, request.promise))
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let fed = buffer.withUnsafeReadableBytes { raw in
            redisReaderFeed(reader, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
        }
        guard fed == REDIS_OK else { return fail(context: context, .protocolError) }
        while true {
            var replyPointer: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &replyPointer) == REDIS_OK else { return fail(context: context, .protocolError) }
            guard let replyPointer else { break }
            let value = Self.convert(replyPointer.assumingMemoryBound(to: redisReply.self))
            freeReplyObject(replyPointer)
            if let onPush, Self.isPush(value) {
                onPush(value)
            } else if let oldest = pending.first {
                collected.append(value)
                if collected.count >= oldest.replies {
                    _ = pending.popFirst()
                    let replies = collected
                    collected = []
                    oldest.promise.succeed(replies)
                }
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, .connectFailed(String(describing: error)))
    }

    private func fail(context: ChannelHandlerContext, _ error: RedisError) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        collected = []
        while let request = pending.popFirst() { request.promise.fail(error) }
    }

    /// Pub/sub deliveries are arrays headed `message` or `pmessage`.
    static func isPush(_ value: RedisValue) -> Bool {
        guard case .array(let items) = value, let kind = items.first?.string else { return false }
        return kind == "message" || kind == "pmessage"
    }

    static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            return .bulk(r.str.map { Array(UnsafeRawBufferPointer(start: $0, count: r.len)) } ?? [])
        case REDIS_REPLY_STATUS:
            return .status(r.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: r.len), as: UTF8.self) } ?? "")
        case REDIS_REPLY_ERROR:
            return .error(r.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: r.len), as: UTF8.self) } ?? "")
        case REDIS_REPLY_INTEGER:
            return .integer(r.integer)
        case REDIS_REPLY_ARRAY:
            return .array((0..<r.elements).map { convert(r.element[$0]!) })
        default:
            return .null
        }
    }

    /// RESP encoding of one command through hiredis, appended to `buffer`.
    static func encode(_ arguments: [[UInt8]], into buffer: inout ByteBuffer) {
        var joined: [UInt8] = []
        joined.reserveCapacity(arguments.reduce(0) { $0 + $1.count })
        for a in arguments { joined.append(contentsOf: a) }
        let lengths = arguments.map(\.count)
        joined.withUnsafeBufferPointer { all in
            var pointers: [UnsafePointer<CChar>?] = []
            var offset = 0
            let base = UnsafeRawPointer(all.baseAddress ?? UnsafePointer(bitPattern: 1)!)
            for length in lengths {
                pointers.append(base.advanced(by: offset).assumingMemoryBound(to: CChar.self))
                offset += length
            }
            var target: UnsafeMutablePointer<CChar>?
            let count = Int(redisFormatCommandArgv(&target, Int32(arguments.count), &pointers, lengths))
            defer { redisFreeCommand(target) }
            if let target, count > 0 {
                buffer.writeBytes(UnsafeRawBufferPointer(start: target, count: count))
            }
        }
    }
}
