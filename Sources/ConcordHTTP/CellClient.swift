import AsyncHTTPClient
import ConcordModels
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// The one client of the cluster's internal API: edges, relays and cells send every call to a
/// cell through it (`InternalAPI`'s calls), with the internal secret and the request's id.
/// Calls answered whole go over its own kept-alive connections (`CellConnections`); answers
/// streamed as they come (files, a relay's held read) over `http`.
public struct CellClient: Sendable {
    public let http: HTTPClient
    let connections: CellConnections
    let secret: String
    let logger: Logger

    /// `tls`: the process's client side of the cells' internal TLS, as `http` has it.
    public init(http: HTTPClient, secret: String, tls: TLSConfiguration? = nil, logger: Logger = Logger(label: "concord.cell-client")) {
        self.http = http
        self.secret = secret
        self.logger = logger
        connections = CellConnections(tls: tls)
    }

    /// Kept-alive connections open to cells now, and calls waiting for one.
    public var connectionUsage: (open: Int, waiting: Int) { connections.usage }

    /// Closes the kept-alive connections (the HTTP client is its owner's to shut down).
    public func shutdown() { connections.shutdown() }

    /// How an HTTP client of cells is set up: `tls` where the cluster's internal calls use it,
    /// and no tracer. With none bootstrapped the client would still open a span through the
    /// no-op tracer for each call, formatting its attributes (2–3% of an edge's CPU per send).
    /// A process that bootstraps a tracer one day sets it here.
    public static func configuration(tls: TLSConfiguration?) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = tls
        configuration.tracing.tracer = nil
        return configuration
    }

    /// Sends `call` to the cell at `base` (its internal API's URL). A refusal is thrown as the
    /// cell's error (a client sees the cell's own code and message) unless the call takes
    /// refusals; a cell that cannot be reached is a 503.
    public func send<Reply>(_ call: CellCall<Reply>, to base: String, timeout: TimeAmount = .seconds(30)) async throws -> Reply {
        let reply = try await exchange(call, to: base, timeout: timeout)
        guard reply.succeeded || call.takesRefusals else { throw reply.error }
        return try call.read(reply)
    }

    /// The answer as it came, whatever its status.
    public func exchange<Reply>(_ call: CellCall<Reply>, to base: String, timeout: TimeAmount = .seconds(30)) async throws -> CellReply {
        var headers = HTTPHeaders()
        for (name, value) in outgoingHeaders(call) { headers.add(name: name, value: value) }
        do {
            return try await connections.exchange(base: base, method: HTTPMethod(rawValue: call.method), path: call.path, headers: headers,
                                                  body: call.body.map { ByteBuffer(bytes: $0) }, limit: call.replyLimit, timeout: timeout)
        } catch {
            logger.warning("cell unreachable", metadata: ["cell": "\(base)", "path": "\(call.path.prefix { $0 != "?" })", "error": "\(error)"])
            throw APIError.serviceUnavailable
        }
    }

    /// An answer read whole (up to `limit` bytes), as `exchange` gives it.
    public static func reply(_ response: HTTPClientResponse, upTo limit: Int) async throws -> CellReply {
        let body = try await response.body.collect(upTo: limit)
        return CellReply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Data(body.readableBytesView))
    }

    /// The answer's head, its body left to stream (a file passed on as the cell sends it).
    public func stream<Reply>(_ call: CellCall<Reply>, to base: String, timeout: TimeAmount = .seconds(60)) async throws -> HTTPClientResponse {
        try await http.execute(outgoing(call, to: base), timeout: timeout)
    }

    private func outgoing<Reply>(_ call: CellCall<Reply>, to base: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: base + call.path)
        request.method = HTTPMethod(rawValue: call.method)
        for (name, value) in outgoingHeaders(call) { request.headers.add(name: name, value: value) }
        if let body = call.body { request.body = .bytes(ByteBuffer(bytes: body)) }
        return request
    }

    /// Every call's headers: the internal secret, the request's id, the call's own, and its
    /// body's type.
    private func outgoingHeaders<Reply>(_ call: CellCall<Reply>) -> [(String, String)] {
        var headers = [(HTTPField.Name.concordInternal.rawName, secret)]
        headers += RequestID.outgoingHeaders
        headers += call.headers.map { ($0.name, $0.value) }
        if call.body != nil { headers.append(("Content-Type", call.contentType)) }
        return headers
    }
}
