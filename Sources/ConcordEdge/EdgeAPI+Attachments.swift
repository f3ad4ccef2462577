import AsyncHTTPClient
import ConcordHTTP
import ConcordModels
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

/// Attachments at Discord's CDN path, `/attachments/{channel}/{attachment}/{filename}`, on
/// every edge: the signature and expiry are checked here, the bytes come from the channel's
/// home cell as a stream (a byte range passed through), and what a browser gets can never run as a page
/// of Concord's origin: sniffing is off, a sandbox policy applies, and whatever is not an
/// image, video, audio, PDF or plain text is a download.
extension EdgeAPI {
    func attachment(_ request: Request) async -> Response {
        let path = request.uri.path
        let query = QueryParameters(request)
        let parts = path.split(separator: "/")
        guard parts.count == 4, let channel = Snowflake(parts[1]), let attachment = Snowflake(parts[2]),
              links.verify(path: path, ex: query.string("ex"), is: query.string("is"), hm: query.string("hm")) else {
            return Self.gone
        }
        var route = Route(endpoint: .getChannel)
        route.channelID = channel
        guard let cell = directory.owner(of: route, caller: nil) else { return Self.gone }
        do {
            let reply = try await cells.stream(InternalAPI.attachment(channel: channel, attachment: attachment, range: request.headers[.range]),
                                               to: cell.baseURL)
            let status = Int(reply.status.code)
            guard [200, 206, 416].contains(status) else { return Self.gone }
            let type = reply.headers.first(name: "Content-Type") ?? "application/octet-stream"
            var headers: HTTPFields = [
                .contentType: type,
                .xContentTypeOptions: "nosniff",
                .contentSecurityPolicy: "default-src 'none'; sandbox",
                .contentDisposition: (UploadKind.isInline(type) ? "inline" : "attachment") + "; filename=\"\(parts[3])\"",
                .cacheControl: "private, max-age=86400",
                .acceptRanges: "bytes",
            ]
            for (name, field) in [("Content-Range", HTTPField.Name.contentRange), ("ETag", .eTag), ("Content-Length", .contentLength)] {
                if let value = reply.headers.first(name: name) { headers[field] = value }
            }
            if request.method == .head { return Response(status: .init(code: status), headers: headers) }
            // Passed on as the cell sends it: a client that stops reading stops the cell's
            // stream too (backpressure), so neither holds more than a piece of the file.
            return Response(status: .init(code: status), headers: headers, body: ResponseBody(asyncSequence: reply.body))
        } catch {
            logger.warning("attachment fetch failed", metadata: ["attachment": "\(attachment)", "error": "\(error)"])
            return JSONResponse.error(.serviceUnavailable)
        }
    }

    /// Discord's answer for a link that is unknown, tampered with or expired.
    static var gone: Response {
        Response(status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: "This content is no longer available.")))
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
}
