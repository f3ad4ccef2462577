import AsyncHTTPClient
import ConcordModels
import ConcordStorage
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Archives or attachment blobs as objects in an S3-compatible bucket, each under `prefix`
/// (path-style URLs, Signature Version 4). A PUT is atomic, so a name holds a whole object or
/// none, as the directory store promises; every call is idempotent, so transient failures
/// (connection errors, 5xx, throttling) are tried again.
public struct S3ObjectStore: ArchiveStore {
    public let endpoint: String
    public let bucket: String
    public let prefix: String
    let signature: S3Signature
    let host: String
    let http: HTTPClient
    let attempts = 3
    /// Keys per listing page; nil leaves it to the service (1,000 on S3).
    public var listPageSize: Int?

    public init(settings: ClusterConfig.ObjectStore, prefix: String, accessKey: String, secretKey: String,
                http: HTTPClient = .shared) throws {
        guard let url = URL(string: settings.endpoint), let hostName = url.host, ["http", "https"].contains(url.scheme ?? "") else {
            throw ArchiveStoreError(description: "object_store.endpoint must be an http(s) URL, not \(settings.endpoint)")
        }
        endpoint = settings.endpoint.hasSuffix("/") ? String(settings.endpoint.dropLast()) : settings.endpoint
        host = url.port.map { "\(hostName):\($0)" } ?? hostName
        bucket = settings.bucket
        self.prefix = prefix
        signature = S3Signature(accessKey: accessKey, secretKey: secretKey, region: settings.regionName)
        self.http = http
    }

    public func put(_ data: Data, name: String) async throws {
        _ = try await send("PUT", key: try key(name), body: data, expecting: [200])
    }

    public func get(_ name: String) async throws -> Data {
        let reply = try await send("GET", key: try key(name), expecting: [200, 404])
        guard reply.status == 200 else { throw ArchiveStoreError(description: "object \(prefix)\(name) is missing") }
        return reply.body
    }

    public func get(_ name: String, bytes: ClosedRange<Int>) async throws -> Data {
        let reply = try await send("GET", key: try key(name), headers: [("range", "bytes=\(bytes.lowerBound)-\(bytes.upperBound)")], expecting: [200, 206, 404])
        guard reply.status != 404 else { throw ArchiveStoreError(description: "object \(prefix)\(name) is missing") }
        // A service that ignores ranges answers the whole object.
        let piece = reply.status == 206 ? reply.body : reply.body.count > bytes.upperBound ? reply.body[bytes] : Data()
        guard piece.count == bytes.count else { throw ArchiveStoreError(description: "\(name) is shorter than byte \(bytes.upperBound)") }
        return Data(piece)
    }

    public func delete(_ name: String) async throws {
        _ = try await send("DELETE", key: try key(name), expecting: [200, 204, 404])
    }

    public func exists(_ name: String) async throws -> Bool {
        try await send("HEAD", key: try key(name), expecting: [200, 404]).status == 200
    }

    public func list() async throws -> [String] {
        var names: [String] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let listPageSize { query.append(("max-keys", String(listPageSize))) }
            if let token { query.append(("continuation-token", token)) }
            let page = String(decoding: try await send("GET", key: nil, query: query, expecting: [200]).body, as: UTF8.self)
            names += S3XML.values(of: "Key", in: page).compactMap { key in
                let name = key.dropFirst(prefix.count)
                return key.hasPrefix(prefix) && !name.contains("/") && !name.hasPrefix(".") ? String(name) : nil
            }
            token = S3XML.values(of: "IsTruncated", in: page).first == "true" ? S3XML.values(of: "NextContinuationToken", in: page).first : nil
        } while token != nil
        return names.sorted()
    }

    /// Creates the bucket unless it is there (operators usually make it; tests and `make run` need not).
    public func createBucketIfMissing() async throws {
        _ = try await send("PUT", key: nil, expecting: [200, 409])
    }

    func key(_ name: String) throws -> String {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else { throw ArchiveStoreError(description: "bad object name \(name)") }
        return prefix + name
    }

    struct Reply { let status: Int; let body: Data }

    func send(_ method: String, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [], body: Data? = nil,
              expecting: Set<Int>) async throws -> Reply {
        var failure: Error = ArchiveStoreError(description: "no attempt made")
        for attempt in 0..<attempts {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(200 << attempt)) }
            do {
                let reply = try await sendOnce(method, key: key, query: query, headers: headers, body: body)
                if expecting.contains(reply.status) { return reply }
                let code = S3XML.values(of: "Code", in: String(decoding: reply.body, as: UTF8.self)).first ?? "no code"
                failure = ArchiveStoreError(description: "object store answered \(reply.status) (\(code)) to \(method) \(key ?? bucket)")
                guard reply.status >= 500 || reply.status == 429 else { throw failure }
            } catch let error as ArchiveStoreError {
                throw error
            } catch {
                failure = error
            }
        }
        throw failure
    }

    func sendOnce(_ method: String, key: String?, query: [(String, String)], headers: [(String, String)], body: Data?) async throws -> Reply {
        let path = "/" + S3Signature.uriEncode(bucket) + (key.map { "/" + S3Signature.uriEncode($0, keepSlash: true) } ?? "")
        let queryString = query.map { "\(S3Signature.uriEncode($0.0))=\(S3Signature.uriEncode($0.1))" }.joined(separator: "&")
        var request = HTTPClientRequest(url: endpoint + path + (queryString.isEmpty ? "" : "?" + queryString))
        request.method = HTTPMethod(rawValue: method)
        let signed = [("host", host), ("x-amz-date", S3Signature.timestamp(Date())),
                      ("x-amz-content-sha256", body.map(ArchiveCompression.sha256) ?? S3Signature.emptyPayloadHash)] + headers
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        for (name, value) in signed { request.headers.replaceOrAdd(name: name, value: value) }
        request.headers.add(name: "Authorization", value: signature.authorization(method: method, path: path, query: query, headers: signed))
        // Generous for the largest archive over a slow link; a stuck store still ends the call.
        let reply = try await http.execute(request, timeout: .seconds(300))
        let bytes = method == "HEAD" ? ByteBuffer() : try await reply.body.collect(upTo: 1 << 31)
        return Reply(status: Int(reply.status.code), body: Data(buffer: bytes))
    }
}

/// The few values Concord reads from S3's XML answers (keys, pagination, error codes); keys
/// are names Concord wrote, so the five predefined entities are all the decoding they need.
enum S3XML {
    static func values(of tag: String, in xml: String) -> [String] {
        var found: [String] = []
        var rest = xml[...]
        while let open = rest.range(of: "<\(tag)>"), let close = rest[open.upperBound...].range(of: "</\(tag)>") {
            found.append(decode(String(rest[open.upperBound..<close.lowerBound])))
            rest = rest[close.upperBound...]
        }
        return found
    }

    static func decode(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
