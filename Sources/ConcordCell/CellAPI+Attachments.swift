import ConcordHTTP
import ConcordModels
import Foundation
import Hummingbird

extension CellAPI {
    /// How much of a file is read from the store and held at a time: a client that stops
    /// reading holds up one piece, not the file.
    static let servedPieceBytes = 256 << 10

    /// `GET /internal/attachments/{channel}/{attachment}`: an attachment's bytes for an edge
    /// that has verified its signed URL, whole or the one byte range asked for, a piece at a time.
    func attachment(_ request: Request) async throws -> Response {
        let parts = request.uri.path.split(separator: "/")
        guard parts.count == 4, let channel = Snowflake(parts[2]), let id = Snowflake(parts[3]) else { throw APIError.notFound }
        let row = try await domain.servedAttachment(channel, attachmentID: id)
        var headers: HTTPFields = [.contentType: row.contentType, .acceptRanges: "bytes", .eTag: "\"\(row.sha256)\""]
        var status = HTTPResponse.Status.ok
        var served: ClosedRange<Int>? = row.size > 0 ? 0...(row.size - 1) : nil
        if let asked = request.headers[.range] {
            guard let parsed = ByteRange.parse(asked, size: row.size) else {
                headers[.contentRange] = "bytes */\(row.size)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            }
            (status, served) = (.partialContent, parsed)
            headers[.contentRange] = "bytes \(parsed.lowerBound)-\(parsed.upperBound)/\(row.size)"
        }
        headers[.contentLength] = String(served?.count ?? 0)
        guard let range = served else { return Response(status: .ok, headers: headers) }
        let (blobs, name, piece) = (domain.blobs, row.sha256, Self.servedPieceBytes)
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: range.count) { writer in
            for start in stride(from: range.lowerBound, through: range.upperBound, by: piece) {
                let bytes = try await blobs.get(name, bytes: start...min(start + piece - 1, range.upperBound))
                try await writer.write(ByteBuffer(data: bytes))
            }
            try await writer.finish(nil)
        })
    }
}
