import Foundation

/// Who is asking, for per-address rate limits. A peer that is one of the configured reverse
/// proxies speaks for its client through X-Forwarded-For; anyone else's header is ignored (a
/// client could name any address in it).
struct ClientAddress {
    let trustedProxies: Set<String>

    /// The right-most address of the forwarded chain that is not a trusted proxy: each proxy
    /// appends the address it was reached from, so entries left of it may be forged.
    func resolve(peer: String?, forwardedFor: String?) -> String {
        let peer = peer ?? "unknown"
        guard trustedProxies.contains(peer), let forwardedFor else { return peer }
        let chain = forwardedFor.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return chain.reversed().first { !trustedProxies.contains($0) } ?? chain.first ?? peer
    }
}
