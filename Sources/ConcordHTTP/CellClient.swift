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
public struct CellClient: Sendable {
    public let http: HTTPClient
    let secret: String
    let logger: Logger

    public init(http: HTTPClient, secret: String, logger: Logger = Logger(label: "concord.cell-client")) {
        self.http = http
        self.secret = secret
        self.logger = logger
    }

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
        let request = outgoing(call, to: base)
        do {
            return try await Self.reply(try await http.execute(request, timeout: timeout), upTo: call.replyLimit)
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
        request.headers.add(name: HTTPField.Name.concordInternal.rawName, value: secret)
        for (name, value) in RequestID.outgoingHeaders { request.headers.add(name: name, value: value) }
        for header in call.headers { request.headers.add(name: header.name, value: header.value) }
        if let body = call.body {
            request.headers.add(name: "Content-Type", value: call.contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }
}
