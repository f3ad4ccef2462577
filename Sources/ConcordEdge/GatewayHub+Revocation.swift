import ConcordAuth
import ConcordModels
import Foundation

/// Revoked tokens end their live sessions on every edge at once: the cell announces each
/// revocation on its Redis, and a sweep every few seconds catches what an edge missed while its
/// subscription was down. A token is never taken as valid on the word of a Redis that cannot
/// vouch for it (down, or flushed and not yet refilled by the cell).
extension GatewayHub {
    /// Whether the token is revoked; nil when that cannot be known. When the home's Redis cannot
    /// vouch (down, full, or flushed and not yet refilled: the cell refills it within a second),
    /// the home cell's database answers.
    /// Sessions identifying together are checked together: one round trip to the Redis for all.
    func isRevoked(_ claims: TokenClaims) async -> Bool? {
        if let answer = try? await revocationChecks.submit(claims) { return answer }
        return try? await send(InternalAPI.isRevoked(token: claims.tokenID), to: claims.userID.cell)
    }

    /// Closes (4004, not resumable) every session identified with one of these tokens.
    func closeSessions(revoked: Set<Snowflake>) {
        guard !revoked.isEmpty else { return }
        let ended = registry.withLock { r in
            r.sessions.filter { _, c in c.state.withLock { $0.tokenID.map(revoked.contains) ?? false } }
        }
        for (id, connection) in ended {
            logger.info("closing a session whose token was revoked", metadata: ["session": "\(id)"])
            remove(id, connection, why: "its token was revoked")
            connection.close(.authenticationFailed)
        }
    }

    func sweepRevokedSessions() async {
        let live = registry.withLock { r in
            r.sessions.values.compactMap { c in c.state.withLock { s in s.tokenID.flatMap { t in s.userID.map { (token: t, user: $0) } } } }
        }
        var revoked: Set<Snowflake> = []
        for (cell, tokens) in Dictionary(grouping: live, by: { $0.user.cell }) {
            guard let entry = directory.entry(for: cell) else { continue }
            let ids = Array(Set(tokens.map(\.token)))
            guard let replies = try? await entry.redis.pipeline(ids.map { ["SISMEMBER", Topics.revokedTokens(cell: entry.cell.name), $0.description] }) else { continue }
            for (id, reply) in zip(ids, replies) where (try? reply.get())?.integer == 1 { revoked.insert(id) }
        }
        closeSessions(revoked: revoked)
    }
}
