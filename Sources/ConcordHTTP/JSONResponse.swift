import ConcordModels
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Responses in Discord's wire shape. The content type is exactly `application/json`:
/// discord.py treats anything else (even with `; charset=utf-8`) as text.
public enum JSONResponse {
    public static func ok(_ body: Data, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    public static func ok(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        ok(try WireJSON.encode(value), status: status)
    }

    public static func noContent() -> Response {
        Response(status: .noContent)
    }

    public static func error(_ error: APIError) -> Response {
        var response = ok(error.jsonBody(), status: .init(code: error.status))
        if let retryAfter = error.retryAfter {
            response.headers[.retryAfter] = String(Int(retryAfter.rounded(.up)))
            response.headers[HTTPField.Name("X-RateLimit-Scope")!] = error.global ? "global" : "user"
            if error.global { response.headers[HTTPField.Name("X-RateLimit-Global")!] = "true" }
            response.headers[.via] = "1.1 concord"
        }
        return response
    }
}

/// Request helpers both servers use.
extension Request {
    /// The body, refused with Discord's 413 when larger than `limit`.
    public mutating func collectJSONBody(limit: Int = Limits.requestBodyBytes) async throws -> Data {
        if let declared = headers[.contentLength].flatMap(Int.init), declared > limit { throw APIError.payloadTooLarge }
        do {
            let buffer = try await collectBody(upTo: limit)
            return Data(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.payloadTooLarge
        }
    }
}

/// The header that carries the cluster's internal secret on edge→cell calls.
public extension HTTPField.Name {
    static let concordInternal = HTTPField.Name("X-Concord-Internal")!
    /// On edge→cell calls: the edge's public URL, which the CDN URLs of files it uploads name.
    static let concordEdgeURL = HTTPField.Name("X-Concord-Edge-URL")!
    /// A request's id: taken from the client when it sends a sound one, else made by the edge;
    /// passed to the cell, logged by both, and answered back.
    static let requestID = HTTPField.Name("X-Request-Id")!
    static let traceparent = HTTPField.Name("traceparent")!
    /// On a relay's page of a source's outbox (`InternalAPI.PageHeader`).
    static let concordThrough = HTTPField.Name(InternalAPI.PageHeader.through)!
    static let concordHead = HTTPField.Name(InternalAPI.PageHeader.head)!
    /// On a cell's refusal another cell might not make: which (`CellRefusal`).
    static let concordRefusal = HTTPField.Name(CellRefusal.header)!
    static let auditLogReason = HTTPField.Name("X-Audit-Log-Reason")!
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
}

/// Constant-time comparison for secrets.
public func secretsMatch(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
}
