import ConcordHTTP
import ConcordModels
import Foundation
import Hummingbird

extension CellAPI {
    /// `GET /internal/attachments/{channel}/{attachment}`: an attachment's bytes for an edge
    /// that has verified its signed URL, whole or the one byte range asked for.
    func attachment(_ request: Request) async throws -> Response {
        let parts = request.uri.path.split(separator: "/")
        guard parts.count == 4, let channel = Snowflake(parts[2]), let id = Snowflake(parts[3]) else { throw APIError.notFound }
        let (row, data) = try await domain.attachmentBytes(channel, attachmentID: id)
        var headers: HTTPFields = [.contentType: row.contentType, .acceptRanges: "bytes", .eTag: "\"\(row.sha256)\""]
        guard let asked = request.headers[.range] else {
            headers[.contentLength] = String(data.count)
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data)))
        }
        guard let range = ByteRange.parse(asked, size: data.count) else {
            headers[.contentRange] = "bytes */\(data.count)"
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
        headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(data.count)"
        headers[.contentLength] = String(range.count)
        return Response(status: .partialContent, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data[range])))
    }
}
