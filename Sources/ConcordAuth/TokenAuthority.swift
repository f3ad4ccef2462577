import Crypto
import ConcordModels
import Foundation

/// What a verified token says about its bearer.
public struct TokenClaims: Sendable, Equatable {
    public enum Kind: UInt8, Sendable { case user = 1, bot = 2 }
    public var userID: Snowflake
    public var tokenID: Snowflake
    public var kind: Kind
    public var isBot: Bool { kind == .bot }
    public init(userID: Snowflake, tokenID: Snowflake, kind: Kind) {
        self.userID = userID
        self.tokenID = tokenID
        self.kind = kind
    }
}

/// Mints and verifies tokens without any storage: a token is
/// `base64url(user id) . base64url(token id, kind) . base64url(HMAC-SHA256)`, shaped like
/// Discord's, so any edge that holds the cluster's token secret checks one in microseconds.
/// Revocation is a separate check (a revoked token still verifies here).
public struct TokenAuthority: Sendable {
    // Kept as bytes: SymmetricKey is not Sendable in this swift-crypto; a key is built per use,
    // which costs a copy of 32+ bytes.
    private let secret: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: secret) }
    private let verified: VerifiedTokens

    public init(secret: [UInt8]) {
        self.init(secret: secret, remembered: 8192)
    }

    /// `remembered`: how many verified tokens are kept so their next use skips the check.
    init(secret: [UInt8], remembered: Int) {
        self.secret = secret
        verified = VerifiedTokens(capacity: remembered)
    }

    /// Verified tokens kept (for tests).
    var rememberedCount: Int { verified.count }

    /// A key for another purpose, derived from the token secret, so what every edge and cell
    /// already shares signs more than tokens without either key telling anything of the other.
    public func derivedKey(_ purpose: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(purpose.utf8), using: key))
    }

    public func mint(userID: Snowflake, tokenID: Snowflake, kind: TokenClaims.Kind) -> String {
        let idPart = Base64URL.encode(Array(userID.description.utf8))
        var body = withUnsafeBytes(of: tokenID.rawValue.bigEndian, Array.init)
        body.append(kind.rawValue)
        let payload = idPart + "." + Base64URL.encode(body)
        return payload + "." + Base64URL.encode(signature(payload))
    }

    public func verify(_ token: String) -> TokenClaims? {
        // Before the lookup, which hashes the whole text: no token is this long, and none holds
        // anything but ASCII. (String equality is Unicode's canonical equivalence: a KELVIN SIGN
        // equals a "K", so without this a second spelling of a remembered token would match it.)
        guard token.utf8.count < 200, token.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        if let claims = verified.claims(of: token) { return claims }
        guard let claims = checked(token) else { return nil }
        verified.remember(token, claims)
        return claims
    }

    private func checked(_ token: String) -> TokenClaims? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        // Only the canonical encoding verifies: no second spelling of the same token.
        guard parts.count == 3,
              let mac = Base64URL.decode(parts[2]), mac.count == 32, Base64URL.encode(mac) == parts[2] else { return nil }
        let payloadLength = parts[0].utf8.count + 1 + parts[1].utf8.count
        let payload = token.utf8.prefix(payloadLength)
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Array(payload), using: key),
              let idBytes = Base64URL.decode(parts[0]),
              let userID = Snowflake(String(decoding: idBytes, as: UTF8.self)),
              let body = Base64URL.decode(parts[1]), body.count == 9,
              let kind = TokenClaims.Kind(rawValue: body[8]) else { return nil }
        let tokenID = body[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return TokenClaims(userID: userID, tokenID: Snowflake(tokenID), kind: kind)
    }

    /// Reads an `Authorization` header: `Bot <token>` for bots, the bare token for people
    /// (Discord's convention). A bot token without its `Bot ` prefix is refused.
    public func authenticate(authorizationHeader header: String?) -> TokenClaims? {
        guard let header else { return nil }
        if header.hasPrefix("Bot ") {
            guard let claims = verify(String(header.dropFirst(4))), claims.kind == .bot else { return nil }
            return claims
        }
        let raw = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : header
        guard let claims = verify(raw), claims.kind == .user else { return nil }
        return claims
    }

    private func signature(_ payload: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(payload.utf8), using: key))
    }

    /// A stored fingerprint of a token, so the database never holds a usable token.
    public static func fingerprint(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
