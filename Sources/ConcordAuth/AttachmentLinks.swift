import ConcordModels
import Crypto
import Foundation

/// Signed, expiring attachment URLs in Discord's shape: `?ex=<expiry>&is=<issued>&hm=<mac>`,
/// hex seconds and a hex HMAC-SHA256 of the path and both times. Any edge verifies them with
/// the key every process derives from the token secret.
///
/// A link is issued at the start of the current day and lasts `lifetime` from then, so every
/// rendering on one day gives the same bytes (history pages kept hot stay byte-identical to
/// fresh ones) and a link is good for at least `lifetime` minus a day.
public struct AttachmentLinks: Sendable {
    private let key: [UInt8]
    public let lifetime: Int
    static let day = 86_400

    public init(tokens: TokenAuthority, lifetimeDays: Int = 14) {
        key = tokens.derivedKey("concord attachment links")
        lifetime = lifetimeDays * Self.day
    }

    /// `url` with its signature for `now`; a URL that carries one already is signed afresh.
    public func signed(_ url: String, now: Date = Date()) -> String {
        let base = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        guard let path = Self.path(of: base) else { return base }
        let issued = Int(now.timeIntervalSince1970) / Self.day * Self.day
        let expires = issued + lifetime
        let (ex, iss) = (String(expires, radix: 16), String(issued, radix: 16))
        return base + "?ex=\(ex)&is=\(iss)&hm=\(mac(path: path, ex: ex, is: iss))"
    }

    /// Whether a request for `path` with these parameters may be served at `now`.
    public func verify(path: String, ex: String?, is issued: String?, hm: String?, now: Date = Date()) -> Bool {
        guard let ex, let issued, let hm, hm.utf8.count == 64, let expires = Int(ex, radix: 16), Int(issued, radix: 16) != nil,
              expires > Int(now.timeIntervalSince1970) else { return false }
        var code: [UInt8] = []
        var digits = hm.utf8.makeIterator()
        while let high = digits.next(), let low = digits.next() {
            guard let byte = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return false }
            code.append(byte)
        }
        // Compared in constant time.
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: Self.material(path, ex, issued), using: SymmetricKey(data: key))
    }

    private func mac(path: String, ex: String, is issued: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Self.material(path, ex, issued), using: SymmetricKey(data: key))
            .map { String(format: "%02x", $0) }.joined()
    }

    private static func material(_ path: String, _ ex: String, _ issued: String) -> [UInt8] { Array("\(path)\n\(ex)\n\(issued)".utf8) }

    /// The path part of an absolute URL (from its first single '/').
    static func path(of url: String) -> String? {
        guard let scheme = url.range(of: "://") else { return url.hasPrefix("/") ? url : nil }
        return url[scheme.upperBound...].firstIndex(of: "/").map { String(url[$0...]) }
    }
}
