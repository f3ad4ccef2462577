import Synchronization

/// Tokens whose signature has already been checked, with what they say: a client sends the same
/// token with every request, and checking it again (splitting it, three base64 decodes, an
/// HMAC, parsing the id) was 2.5–3% of both the edge's and the cell's CPU per message sent.
/// A signature, once valid, stays valid for as long as the secret does, so nothing here goes
/// stale; revocation is checked apart, on every request, as before. Only tokens that verified
/// get in, and the table is bounded: when full, an arbitrary entry makes room, so a flood of
/// valid tokens costs the flooder's HMACs again, never memory.
final class VerifiedTokens: Sendable {
    private let entries = Mutex<[String: TokenClaims]>([:])
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func claims(of token: String) -> TokenClaims? {
        entries.withLock { $0[token] }
    }

    func remember(_ token: String, _ claims: TokenClaims) {
        entries.withLock { entries in
            if entries.count >= capacity, let any = entries.keys.first { entries[any] = nil }
            entries[token] = claims
        }
    }

    var count: Int { entries.withLock { $0.count } }
}
