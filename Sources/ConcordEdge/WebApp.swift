import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The browser client's static files, served by every edge under `/app` so a person's browser
/// talks to the edge it was served from. Files are read once at start-up (the app is small);
/// each answer carries its content type, an ETag for revalidation, and the app's strict
/// Content-Security-Policy: scripts and styles only from this origin, no inline script.
public struct WebApp: Sendable {
    struct File: Sendable {
        var body: ByteBuffer
        var contentType: String
        var etag: String
    }

    private let files: [String: File]

    /// Where the files live: `CONCORD_WEB_ROOT`, else `web/` in the working directory.
    public static var defaultRoot: String {
        ProcessInfo.processInfo.environment["CONCORD_WEB_ROOT"] ?? FileManager.default.currentDirectoryPath + "/web"
    }

    public init(root: String) {
        var files: [String: File] = [:]
        let base = URL(fileURLWithPath: root).standardizedFileURL
        if let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey]) {
            for case let url as URL in walker {
                guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true,
                      let type = Self.contentTypes[url.pathExtension], let data = try? Data(contentsOf: url) else { continue }
                let relative = String(url.standardizedFileURL.path.dropFirst(base.path.count))
                files[relative] = File(body: ByteBuffer(bytes: data), contentType: type, etag: "\"\(Self.fingerprint(data))\"")
            }
        }
        self.files = files
    }

    public var isEmpty: Bool { files.isEmpty }

    /// FNV-1a over the bytes: an ETag only needs to change when the file does.
    static func fingerprint(_ data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16) + "-" + String(data.count, radix: 16)
    }

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon", "json": "application/json",
    ]

    /// The answer for a path under `/app` (or `/`), nil for any other path.
    func response(path: String, headers: HTTPFields) -> Response? {
        if path == "/" || path == "/app" { return redirect(to: "/app/") }
        guard path.hasPrefix("/app/") else { return nil }
        var relative = String(path.dropFirst("/app".count))
        if relative.hasSuffix("/") { relative += "index.html" }
        guard !relative.contains(".."), let file = files[relative] else {
            var response = Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "not found")))
            response.headers[.contentType] = "text/plain; charset=utf-8"
            return response
        }
        var fields = Self.securityHeaders
        fields[.eTag] = file.etag
        // Files keep their names across releases (no build step), so browsers revalidate each
        // time; an unchanged file costs a 304.
        fields[.cacheControl] = "no-cache"
        if headers[.ifNoneMatch] == file.etag { return Response(status: .notModified, headers: fields) }
        fields[.contentType] = file.contentType
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: file.body))
    }

    private func redirect(to location: String) -> Response {
        var fields = Self.securityHeaders
        fields[.location] = location
        return Response(status: .found, headers: fields)
    }

    static let securityHeaders: HTTPFields = {
        var fields = HTTPFields()
        fields[.contentSecurityPolicy] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        fields[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        fields[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return fields
    }()
}
