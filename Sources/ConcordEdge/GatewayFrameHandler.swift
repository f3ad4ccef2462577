import ConcordGateway
import NIOCore
import NIOWebSocket

/// One gateway WebSocket, on its event loop and the only handler past the upgrade: it reads the
/// client's frames from the socket's bytes (WebSocketFrameReader), hands whole messages to the
/// hub in order, answers pings, and does both sides of the close handshake; every frame the
/// edge sends is written as bytes (WebSocketFrameBytes). Nothing waits on an idle socket: the
/// hub runs a task only while a socket has messages to handle.
final class GatewayFrameHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A close the edge sends goes out at once; the connection ends when the client answers it,
    /// or this long after (a client that never reads must not hold the socket open).
    static let closeAnswerTimeout = TimeAmount.seconds(2)

    private let hub: GatewayHub
    /// The upgrade request's query, until the socket opens with it.
    private var query: [String: String]
    private var socket: SocketBinding?
    private var context: ChannelHandlerContext?
    private var reader = WebSocketFrameReader(maxFrameSize: GatewayChildChannel.maxFrameSize)
    /// The fragments of a message not yet whole.
    private var partial: [UInt8]?
    /// The client broke the protocol: nothing more it sends is read.
    private var failed = false
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
        socket = hub.open(channel: context.channel, entry: NIOLoopBound(context, eventLoop: context.eventLoop), query: query) { code in
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
        guard !failed else { return }
        do {
            try reader.read(unwrapInboundIn(data)) { frame in receive(frame, context: context) }
        } catch {
            failed = true
            sendClose(code: error.closeCode, reason: error.reason)
        }
    }

    private func receive(_ frame: WebSocketFrameReader.Frame, context: ChannelHandlerContext) {
        guard !failed else { return }
        switch frame.opcode {
        case 8: receivedClose(frame.payload, context: context)
        case 9:
            // A client that floods pings and never reads gets no more pongs once its socket is
            // full (RFC 6455 §5.5.3 lets an endpoint answer only the latest): they would pile up
            // unbounded beside the session's own counted output.
            guard !closeSent, context.channel.isWritable else { return }
            write(opcode: .pong, frame.payload, context: context)
        case 1, 2:
            guard partial == nil else { return sendClose(code: 1002, reason: "a new message before the last one ended") }
            partial = frame.payload
            if frame.fin { messageEnded() }
        case 0:
            guard var bytes = partial else { return sendClose(code: 1002, reason: "a continuation of no message") }
            partial = nil
            guard bytes.count + frame.payload.count <= GatewayChildChannel.maxFrameSize else {
                return sendClose(code: 1009, reason: "message too big")
            }
            bytes += frame.payload
            partial = bytes
            if frame.fin { messageEnded() }
        default: return  // a pong
        }
    }

    private func messageEnded() {
        guard let bytes = partial else { return }
        partial = nil
        guard !closeSent, let socket else { return }
        hub.received(bytes, on: socket)
    }

    private func receivedClose(_ payload: [UInt8], context: ChannelHandlerContext) {
        if closeSent { return context.close(promise: nil) }  // the client's answer to ours
        let code = payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
        clientLeft = code == 1000 || code == 1001
        closeSent = true
        // The answer repeats the client's code (RFC 6455 §5.5.1), or says 1002 for a code no
        // endpoint may send; then the connection ends.
        let answer = code.map { Self.closePayload((1000...4999).contains($0) ? $0 : 1002) } ?? []
        let channel = context.channel
        write(opcode: .connectionClose, answer, context: context).whenComplete { _ in channel.close(promise: nil) }
    }

    private static func closePayload(_ code: UInt16, reason: String = "") -> [UInt8] {
        [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8)
    }

    @discardableResult
    private func write(opcode: WebSocketOpcode, _ payload: [UInt8], context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        var buffer = context.channel.allocator.buffer(capacity: 10 + payload.count)
        WebSocketFrameBytes.append(opcode: opcode, payload, to: &buffer)
        return context.writeAndFlush(wrapOutboundOut(buffer))
    }

    /// Sends the edge's close once, then ends the connection when it is answered or times out.
    func sendClose(code: UInt16, reason: String) {
        guard !closeSent, let context else { return }
        closeSent = true
        partial = nil
        let channel = context.channel
        // After a broken frame nothing more is read, so no answer can come: the connection ends
        // once the close is out.
        let sent = write(opcode: .connectionClose, Self.closePayload(code, reason: reason), context: context)
        if failed { sent.whenComplete { _ in channel.close(promise: nil) } }
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
