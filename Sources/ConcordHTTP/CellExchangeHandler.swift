import ConcordModels
import Foundation
import NIOCore
import NIOHTTP1

/// One call to a cell as it goes down a pooled connection's pipeline: the request, the most
/// the answer's body may hold, and where the answer goes.
struct CellExchange: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
    var limit: Int
    var answer: EventLoopPromise<CellAnswer>
}

/// An answer read whole, and whether its connection may carry another call.
struct CellAnswer: Sendable {
    var reply: CellReply
    var reusable: Bool
}

enum CellConnectionError: Error, Equatable, CustomStringConvertible {
    case closed
    case answerTooLarge(limit: Int)
    case unexpectedAnswer
    case busy
    case timedOut
    case noTLS
    case badAddress(String)

    var description: String {
        switch self {
        case .closed: "the connection closed before the answer was whole"
        case .answerTooLarge(let limit): "the answer was over \(limit) bytes"
        case .unexpectedAnswer: "the cell answered a call nobody made"
        case .busy: "a call was written while another was under way"
        case .timedOut: "no whole answer in time"
        case .noTLS: "an https cell, and no TLS configured for the cells"
        case .badAddress(let base): "not a cell's address: \(base)"
        }
    }
}

/// Carries one call at a time over a kept-alive HTTP/1.1 connection: writes the request,
/// gathers the answer's head and body (up to the call's limit), and hands it over whole. Any
/// failure fails the call under way and closes the connection, which then goes out of the pool.
final class CellExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = CellExchange
    typealias OutboundOut = HTTPClientRequestPart

    private var answer: EventLoopPromise<CellAnswer>?
    private var limit = 0
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    /// Called once, when the connection closes (the pool forgets it if it was idle).
    private let closed: @Sendable () -> Void

    init(closed: @escaping @Sendable () -> Void) { self.closed = closed }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        guard answer == nil else {
            exchange.answer.fail(CellConnectionError.busy)
            promise?.fail(CellConnectionError.busy)
            return
        }
        answer = exchange.answer
        limit = exchange.limit
        head = nil
        body = nil
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if let payload = exchange.body { context.write(wrapOutboundOut(.body(.byteBuffer(payload))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard answer != nil else { return fail(CellConnectionError.unexpectedAnswer, context) }
        switch unwrapInboundIn(data) {
        case .head(let responseHead):
            head = responseHead
        case .body(var part):
            let held = body?.readableBytes ?? 0
            guard held + part.readableBytes <= limit else { return fail(CellConnectionError.answerTooLarge(limit: limit), context) }
            if body == nil { body = part } else { body!.writeBuffer(&part) }
        case .end:
            guard let answer, let head else { return fail(CellConnectionError.unexpectedAnswer, context) }
            self.answer = nil
            let bytes = body.map { Data($0.readableBytesView) } ?? Data()
            body = nil
            self.head = nil
            let reply = CellReply(status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) }, body: bytes)
            answer.succeed(CellAnswer(reply: reply, reusable: head.isKeepAlive))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error, context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        answer?.fail(CellConnectionError.closed)
        answer = nil
        closed()
        context.fireChannelInactive()
    }

    private func fail(_ error: any Error, _ context: ChannelHandlerContext) {
        answer?.fail(error)
        answer = nil
        context.close(promise: nil)
    }
}
