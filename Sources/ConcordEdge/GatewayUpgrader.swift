import NIOCore
import NIOHTTP1
import NIOWebSocket

/// The gateway's WebSocket upgrade: NIO's upgrader checks the request and answers it (the key,
/// the version, Sec-WebSocket-Accept), and the socket then gets one handler, GatewayFrameHandler,
/// instead of NIO's frame decoder, encoder and error handler beside it.
struct GatewayUpgrader: NIOTypedHTTPServerProtocolUpgrader {
    typealias UpgradeResult = GatewayChildChannel.Upgrade

    private let handshake: NIOTypedWebSocketServerUpgrader<UpgradeResult>
    private let hub: GatewayHub

    init(hub: GatewayHub, shouldUpgrade: @escaping @Sendable (any Channel, HTTPRequestHead) -> EventLoopFuture<HTTPHeaders?>) {
        self.hub = hub
        handshake = NIOTypedWebSocketServerUpgrader(
            maxFrameSize: GatewayChildChannel.maxFrameSize, shouldUpgrade: shouldUpgrade,
            upgradePipelineHandler: { channel, _ in channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported) })
    }

    var supportedProtocol: String { handshake.supportedProtocol }
    var requiredUpgradeHeaders: [String] { handshake.requiredUpgradeHeaders }

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        handshake.buildUpgradeResponse(channel: channel, upgradeRequest: upgradeRequest, initialResponseHeaders: initialResponseHeaders)
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<UpgradeResult> {
        channel.eventLoop.makeCompletedFuture { [hub] in
            try channel.pipeline.syncOperations.addHandler(GatewayFrameHandler(hub: hub, query: EdgeNode.split(upgradeRequest.uri).1))
            return .gateway
        }
    }
}
