import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// An edge connection: HTTP/1.1 requests for the API, or a WebSocket upgrade at /gateway served
/// by a channel handler (GatewayFrameHandler). Hummingbird's WebSocket channel runs each socket
/// in tasks that live as long as it does, and their stacks were most of an idle session's
/// memory; here an upgraded socket holds no task: its server task ends once the handler is in.
struct GatewayChildChannel: ServerChildChannel, HTTPChannelHandler {
    enum Upgrade: Sendable {
        case gateway
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade asked for somewhere other than the gateway.
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
    }

    struct Value: ServerChildChannelValue {
        let upgrade: EventLoopFuture<Upgrade>
        let channel: any Channel
    }

    static let maxFrameSize = 1 << 20

    let responder: HTTPChannelHandler.Responder
    let hub: GatewayHub
    /// An idle kept-alive HTTP connection closes after this long.
    let idleTimeout: Duration

    init(responder: @escaping HTTPChannelHandler.Responder, hub: GatewayHub, idleTimeout: Duration) {
        self.responder = Self.redirectingLateUpgrades(responder)
        self.hub = hub
        self.idleTimeout = idleTimeout
    }

    /// Reads start at 256 bytes (a request head, an IDENTIFY) and grow for larger ones: the
    /// socket keeps its read buffer for good, and NIO's 2 KB default was a fifth of an idle session.
    static let reads = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65_536)

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.reads)
            let upgradeAsked = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            let upgrader = GatewayUpgrader(hub: hub) { channel, head in
                upgradeAsked.value = true
                // The gateway lives at /gateway (GET /api/v10/gateway points here).
                let path = EdgeNode.split(head.uri).0
                return channel.eventLoop.makeSucceededFuture(path == "/gateway" || path == "/gateway/" ? HTTPHeaders() : nil)
            }
            let notUpgrading = NIOTypedHTTPServerUpgradeConfiguration(upgraders: [upgrader], notUpgradingCompletionHandler: { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                    try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
                    let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                        wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                    return upgradeAsked.value ? .refused(http) : .http(http)
                }
            })
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Upgrade>(upgradeConfiguration: notUpgrading)
            configuration.enablePipelining = false  // NIOAsyncChannel takes one request at a time
            configuration.enableErrorHandling = false  // Hummingbird answers malformed requests
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validates them
            let upgrade = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            return Value(upgrade: upgrade, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        switch try? await value.upgrade.get() {
        case .http(let http)?: await handleHTTP(asyncChannel: http, logger: logger)
        case .refused(let http)?: await Self.refuse(http)
        case .gateway?, nil: return  // the socket's handler serves it from here on
        }
    }

    private static func refuse(_ http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>) async {
        try? await http.executeThenClose { _, outbound in
            let head = HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])
            try await outbound.write(contentsOf: [.head(head), .end(nil)])
        }
    }

    /// NIO looks for an upgrade only in a connection's first request: a later request asking for
    /// one is sent back to the same address with the connection closed, so it comes again first.
    private static func redirectingLateUpgrades(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        struct ClosingAfterRedirect: Error {}
        return { request, writer, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                return try await responder(request, writer, channel)
            }
            let location = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            try await writer.writeResponse(HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: location]))
            throw ClosingAfterRedirect()
        }
    }
}
