import ConcordGateway
import NIOCore
import NIOWebSocket

/// One gateway WebSocket, on its event loop: whole messages go to the hub in order, pings are
/// answered, and both sides of the close handshake happen here. Nothing waits on an idle socket:
/// the hub runs a task only while a socket has messages to handle.
final class GatewayFrameHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// A close the edge sends goes out at once; the connection ends when the client answers it,
    /// or this long after (a client that never reads must not hold the socket open).
    static let closeAnswerTimeout = TimeAmount.seconds(2)

    private let hub: GatewayHub
    /// The upgrade request's query, until the socket opens with it.
    private var query: [String: String]
    private var socket: SocketBinding?
    private var context: ChannelHandlerContext?
    /// The fragments of a message not yet whole.
    private var partial: ByteBuffer?
    private var closeSent = false
    /// The client began the close with 1000 or 1001: it is leaving for good (as on Discord, the
    /// session ends). A client's close that answers the edge's says nothing (many clients answer
    /// any close with 1000), nor does a dropped connection.
    private var clientLeft = false

    init(hub: GatewayHub, query: [String: String]) {
        self.hub = hub
        self.query = query
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        guard context.channel.isActive else { return }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        socket = hub.open(channel: context.channel, query: query) { code in
            handler.value.sendClose(code: UInt16(code.rawValue), reason: code.reason)
        }
        query = [:]
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let socket { hub.ended(socket, clientLeft: clientLeft) }
        socket = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .connectionClose: receivedClose(frame, context: context)
        case .ping:
            // A client that floods pings and never reads gets no more pongs once its socket is
            // full (RFC 6455 §5.5.3 lets an endpoint answer only the latest): they would pile up
            // unbounded beside the session's own counted output.
            guard !closeSent, context.channel.isWritable else { return }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .text, .binary:
            guard partial == nil else { return sendClose(code: 1002, reason: "a new message before the last one ended") }
            partial = frame.unmaskedData
            if frame.fin { messageEnded() }
        case .continuation:
            guard var bytes = partial else { return sendClose(code: 1002, reason: "a continuation of no message") }
            partial = nil
            guard bytes.readableBytes + frame.length <= GatewayChildChannel.maxFrameSize else {
                return sendClose(code: 1009, reason: "message too big")
            }
            var fragment = frame.unmaskedData
            bytes.writeBuffer(&fragment)
            partial = bytes
            if frame.fin { messageEnded() }
        default: return
        }
    }

    private func messageEnded() {
        guard let bytes = partial else { return }
        partial = nil
        guard !closeSent, let socket else { return }
        hub.received(Array(bytes.readableBytesView), on: socket)
    }

    private func receivedClose(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        if closeSent { return context.close(promise: nil) }  // the client's answer to ours
        var payload = frame.unmaskedData
        let code = payload.readInteger(as: UInt16.self)
        clientLeft = code == 1000 || code == 1001
        closeSent = true
        // The answer repeats the client's code (RFC 6455 §5.5.1), or says 1002 for a code no
        // endpoint may send; then the connection ends.
        var answer = context.channel.allocator.buffer(capacity: 2)
        if let code { answer.writeInteger((1000...4999).contains(code) ? code : 1002) }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: answer)))
            .whenComplete { _ in channel.close(promise: nil) }
    }

    /// Sends the edge's close once, then ends the connection when it is answered or times out.
    func sendClose(code: UInt16, reason: String) {
        guard !closeSent, let context else { return }
        closeSent = true
        partial = nil
        var payload = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        payload.writeInteger(code)
        payload.writeString(reason)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)), promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: Self.closeAnswerTimeout) { channel.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The server is shutting down: the session is told to reconnect elsewhere.
        if event is ChannelShouldQuiesceEvent, let socket { socket.closer.yield(.unknownError) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
