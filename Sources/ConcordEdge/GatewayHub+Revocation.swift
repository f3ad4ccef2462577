import ConcordAuth
import ConcordModels
import AsyncHTTPClient
import Foundation

/// Revoked tokens end their live sessions on every edge at once: the cell announces each
/// revocation on its Redis, and a sweep every few seconds catches what an edge missed while its
/// subscription was down. A token is never taken as valid when its home's Redis cannot vouch
/// for it (down, or flushed and not yet refilled by the cell).
extension GatewayHub {
    /// Whether the token is revoked; nil when that cannot be known. A revoked set not marked
    /// complete is refilled by the home cell at this edge's request and asked again; if it still
    /// cannot vouch (its Redis is full or down), the home cell's database answers.
    func isRevoked(_ claims: TokenClaims) async -> Bool? {
        do {
            return try await directory.isRevoked(claims)
        } catch is CellDirectory.RevocationUnknown {
            _ = try? await cellPost(claims.userID.cell, path: "/internal/revocations/sync")
            if let answer = try? await directory.isRevoked(claims) { return answer }
        } catch {}
        return try? await cellJSON(claims.userID.cell, path: "/internal/revocations/check?token=\(claims.tokenID)")?["revoked"]?.boolValue
    }

    /// Closes (4004, not resumable) every session identified with one of these tokens.
    func closeSessions(revoked: Set<Snowflake>) {
        guard !revoked.isEmpty else { return }
        let ended = registry.withLock { r in
            r.sessions.filter { _, c in c.state.withLock { $0.tokenID.map(revoked.contains) ?? false } }
        }
        for (id, connection) in ended {
            logger.info("closing a session whose token was revoked", metadata: ["session": "\(id)"])
            remove(id, connection)
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
            guard let replies = try? await entry.redis.pipeline(ids.map { ["SISMEMBER", Topics.revokedTokens, $0.description] }) else { continue }
            for (id, reply) in zip(ids, replies) where (try? reply.get())?.integer == 1 { revoked.insert(id) }
        }
        closeSessions(revoked: revoked)
    }

    /// A POST to a cell's internal API; answers the status.
    func cellPost(_ cell: Int, path: String) async throws -> Int {
        guard let entry = directory.entry(for: cell) else { return 404 }
        var request = HTTPClientRequest(url: entry.baseURL + path)
        request.method = .POST
        request.headers.add(name: "X-Concord-Internal", value: internalSecret)
        let response = try await http.execute(request, timeout: .seconds(10))
        return Int(response.status.code)
    }
}
