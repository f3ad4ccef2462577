import ConcordModels
import Foundation
import Hummingbird

/// A multipart/form-data body (RFC 7578) as Discord's libraries send a message with files:
/// a `payload_json` part and `files[n]` parts. Parsed from the whole body; a malformed body
/// is Discord's 400 with a form error, never a crash.
public struct MultipartForm: Sendable {
    public struct Part: Sendable {
        public var name: String
        public var filename: String?
        public var contentType: String?
        public var data: Data
    }

    public var parts: [Part]
    /// The files by their index: `files[n]` (or any other named file part, numbered in order).
    public let files: [Int: Part]

    /// The boundary of a `multipart/form-data` content type, or nil for any other type.
    public static func boundary(of contentType: String?) -> String? {
        // Most bodies are JSON: a look at the first bytes settles it without splitting anything.
        guard let contentType, contentType.utf8.prefix(10).map({ $0 | 0x20 }).elementsEqual("multipart/".utf8) else { return nil }
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard pieces.first?.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() where piece.lowercased().hasPrefix("boundary=") {
            let value = piece.dropFirst("boundary=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return (1...70).contains(value.utf8.count) ? value : nil
        }
        return nil
    }

    static let malformed = APIError.invalidForm(.single(["files"], code: "BASE_TYPE_INVALID", message: "Malformed multipart body."))

    public init(body: Data, boundary: String) throws {
        let delimiter = Array("--\(boundary)".utf8)
        let crlf = Array("\r\n".utf8)
        var parts: [Part] = []
        guard var cursor = Self.find(delimiter, in: body, from: body.startIndex)?.upperBound else { throw Self.malformed }
        while true {
            // After a delimiter: "--" ends the body, CRLF starts a part.
            if body[cursor...].starts(with: Array("--".utf8)) { break }
            guard body[cursor...].starts(with: crlf) else { throw Self.malformed }
            cursor += 2
            guard let headerEnd = Self.find(Array("\r\n\r\n".utf8), in: body, from: cursor),
                  let next = Self.find(crlf + delimiter, in: body, from: headerEnd.upperBound) else { throw Self.malformed }
            let headers = String(decoding: body[cursor..<headerEnd.lowerBound], as: UTF8.self)
            parts.append(try Self.part(headers: headers, data: Data(body[headerEnd.upperBound..<next.lowerBound])))
            cursor = next.upperBound
            guard parts.count <= Limits.attachmentsPerMessage + 1 else {
                throw APIError.invalidForm(.single(["files"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be \(Limits.attachmentsPerMessage) or fewer in length."))
            }
        }
        self.parts = parts
        files = Self.files(of: parts)
    }

    /// The first occurrence of `pattern` in `data` at or after `start`: memchr for its first
    /// byte, then a compare (Foundation's `range(of:)` is byte by byte; a 10 MiB file took
    /// half a second).
    static func find(_ pattern: [UInt8], in data: Data, from start: Int) -> Range<Int>? {
        guard let first = pattern.first, start <= data.endIndex else { return nil }
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Range<Int>? in
            guard let base = raw.baseAddress else { return nil }
            var offset = start - data.startIndex
            while offset + pattern.count <= raw.count {
                guard let hit = memchr(base + offset, Int32(first), raw.count - offset) else { return nil }
                let at = base.distance(to: UnsafeRawPointer(hit))
                guard at + pattern.count <= raw.count else { return nil }
                if memcmp(base + at, pattern, pattern.count) == 0 {
                    return (data.startIndex + at)..<(data.startIndex + at + pattern.count)
                }
                offset = at + 1
            }
            return nil
        }
    }

    private static func part(headers: String, data: Data) throws -> Part {
        var name: String?, filename: String?, contentType: String?
        for line in headers.split(separator: "\r\n") {
            let pair = line.split(separator: ":", maxSplits: 1)
            guard pair.count == 2 else { throw malformed }
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            switch pair[0].lowercased() {
            case "content-disposition":
                for parameter in value.split(separator: ";").dropFirst() {
                    let kv = parameter.split(separator: "=", maxSplits: 1)
                    guard kv.count == 2 else { continue }
                    let text = kv[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                    switch kv[0].trimmingCharacters(in: .whitespaces).lowercased() {
                    case "name": name = text
                    case "filename": filename = text
                    case "filename*": filename = text.split(separator: "'", maxSplits: 2).last.flatMap { String($0).removingPercentEncoding } ?? text
                    default: break
                    }
                }
            case "content-type": contentType = value
            default: break
            }
        }
        guard let name else { throw malformed }
        return Part(name: name, filename: filename, contentType: contentType, data: data)
    }

    /// The `payload_json` part's bytes (empty when there is none: a message of files only).
    public var payloadJSON: Data { parts.first { $0.name == "payload_json" }?.data ?? Data() }

    private static func files(of parts: [Part]) -> [Int: Part] {
        var files: [Int: Part] = [:]
        var next = 0
        for part in parts where part.name != "payload_json" && part.filename != nil {
            if part.name.hasPrefix("files["), part.name.hasSuffix("]"), let n = Int(part.name.dropFirst(6).dropLast()), n >= 0 {
                files[n] = part
            } else {
                while files[next] != nil { next += 1 }
                files[next] = part
            }
        }
        return files
    }

    public var fileBytes: Int { files.values.reduce(0) { $0 + $1.data.count } }
}

/// A request's body as the message routes read it: JSON, or a multipart form whose
/// `payload_json` is the JSON and whose files are uploads (creating and editing a message
/// only). Files may add up to `uploadBytes`; the JSON keeps the ordinary limit.
public struct MessageForm: Sendable {
    /// The body as it came (what an edge hands on to the cell).
    public var raw: Data
    public var contentType: String?
    public var json: Data
    public var uploads: [Int: Upload]
    /// Whether the body was a multipart form (a message route's), not JSON.
    public var isMultipart: Bool

    public init(_ request: inout Request, route: Route, uploadBytes: Int) async throws {
        contentType = request.headers[.contentType]
        guard let boundary = MultipartForm.boundary(of: contentType), route.endpoint == .createMessage || route.endpoint == .editMessage else {
            raw = try await request.collectJSONBody()
            json = raw
            uploads = [:]
            isMultipart = false
            return
        }
        isMultipart = true
        raw = try await request.collectJSONBody(limit: uploadBytes + Limits.requestBodyBytes)
        let form = try MultipartForm(body: raw, boundary: boundary)
        guard form.fileBytes <= uploadBytes else { throw APIError.payloadTooLarge }
        guard form.payloadJSON.count <= Limits.requestBodyBytes else { throw APIError.payloadTooLarge }
        json = try form.messagePayload(listingFiles: route.endpoint == .createMessage)
        uploads = form.files.mapValues { Upload(filename: $0.filename ?? "unknown", contentType: $0.contentType, data: $0.data) }
    }
}

extension MultipartForm {
    /// `payload_json`, with an `attachments` entry for each file when it lists none and
    /// `listingFiles` (a new message of files sent without one, as curl would).
    func messagePayload(listingFiles: Bool) throws -> Data {
        let payload = payloadJSON.isEmpty ? Data("{}".utf8) : payloadJSON
        guard listingFiles, !files.isEmpty else { return payload }
        guard case .object(var fields) = try WireJSON.decodeBody(JSONValue.self, from: payload) else { throw APIError.invalidJSON }
        guard fields["attachments"] == nil || fields["attachments"] == .null else { return payload }
        fields["attachments"] = .array(files.keys.sorted().map { index in
            .object(["id": .int(Int64(index)), "filename": .string(files[index]?.filename ?? "unknown")])
        })
        return try WireJSON.encode(JSONValue.object(fields))
    }
}
