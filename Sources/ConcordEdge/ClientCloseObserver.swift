import NIOCore
import NIOWebSocket
import Synchronization

/// Notes the code of the close frame a client sends. The WebSocket layer answers the close
/// itself and does not tell the gateway which code it carried; Discord's gateway reads it: a
/// client closing with 1000 or 1001 ends its session (nothing to resume, the user goes offline),
/// any other code or a dropped connection leaves the session resumable.
final class ClientCloseObserver: ChannelInboundHandler, Sendable {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    /// The close frame's code; 0 until one arrives (or when it carried none).
    private let received = Atomic<Int>(0)

    /// Whether the client said it is leaving for good (1000 normal closure, 1001 going away).
    var endsSession: Bool { [1000, 1001].contains(received.load(ordering: .relaxed)) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.opcode == .connectionClose {
            var payload = frame.unmaskedData
            if let code = payload.readInteger(as: UInt16.self) { received.store(Int(code), ordering: .relaxed) }
        }
        context.fireChannelRead(data)
    }

    /// Puts the observer just after the frame decoder, so it sees every frame the client sends.
    static func install(on channel: any Channel) async -> ClientCloseObserver {
        let observer = ClientCloseObserver()
        try? await channel.eventLoop.submit {
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(observer, position: .after(decoder))
        }.get()
        return observer
    }
}
