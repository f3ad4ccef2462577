import ConcordStorage
import Crypto
import Foundation

/// AWS Signature Version 4 for S3-compatible object stores (AWS, MinIO, Ceph, Garage, R2…):
/// the `Authorization` header for one request, from its method, path, query and headers.
/// Pure, so it is checked against the published examples without a server.
public struct S3Signature: Sendable {
    public let accessKey: String
    public let secretKey: String
    public let region: String
    public var service = "s3"

    public init(accessKey: String, secretKey: String, region: String) {
        self.accessKey = accessKey; self.secretKey = secretKey; self.region = region
    }

    /// The SHA-256 of an empty body, which every GET, HEAD and DELETE declares.
    public static let emptyPayloadHash = ArchiveCompression.sha256(Data())

    /// `x-amz-date`'s form, in UTC: 20130524T000000Z.
    public static func timestamp(_ date: Date) -> String {
        let parts = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!)
    }

    /// The Authorization header's value. `path` is already URI-encoded (as sent); `headers`
    /// must hold `host`, `x-amz-date` and `x-amz-content-sha256`, and every header given is signed.
    public func authorization(method: String, path: String, query: [(String, String)], headers: [(String, String)]) -> String {
        let amzDate = headers.first { $0.0.lowercased() == "x-amz-date" }?.1 ?? ""
        let payload = headers.first { $0.0.lowercased() == "x-amz-content-sha256" }?.1 ?? Self.emptyPayloadHash
        let encodedQuery: [(String, String)] = query.map { (Self.uriEncode($0.0), Self.uriEncode($0.1)) }
        let canonicalQuery: String = encodedQuery.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let canonicalHeaders: [(String, String)] = headers.map { ($0.0.lowercased(), Self.trim($0.1)) }.sorted { $0.0 < $1.0 }
        let signedHeaders = canonicalHeaders.map(\.0).joined(separator: ";")
        let headerLines: String = canonicalHeaders.map { "\($0.0):\($0.1)\n" }.joined()
        let canonicalRequest: String = [method, path, canonicalQuery, headerLines, signedHeaders, payload].joined(separator: "\n")
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, ArchiveCompression.sha256(Data(canonicalRequest.utf8))].joined(separator: "\n")
        var key = SymmetricKey(data: Data(("AWS4" + secretKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key).map { String(format: "%02x", $0) }.joined()
        return "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope),SignedHeaders=\(signedHeaders),Signature=\(signature)"
    }

    /// RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else
    /// %XX-encoded (uppercase), `/` too unless `keepSlash`.
    public static func uriEncode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out += "/"
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static func trim(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}
