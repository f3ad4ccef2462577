import ConcordModels
import Foundation
import PostgresNIO

/// A stored token's row, for operators.
public struct TokenRecord: Sendable, Equatable {
    public var id: Snowflake
    public var userID: Snowflake
    public var kind: Int
    public var createdAt: Date
    public var revokedAt: Date?
}

extension SQLExecutor {
    /// Inserts a user; returns false when the username is taken.
    public func insertUser(_ user: User, passwordHash: String?, ownerID: Snowflake?) async throws -> Bool {
        do {
            try await run("""
                INSERT INTO users (id, username, global_name, bot, owner_id, password_hash)
                VALUES (\(user.id.int64), \(user.username), \(user.global_name), \(user.bot), \(ownerID?.int64), \(passwordHash))
                """)
            return true
        } catch where error.sqlState == "23505" {
            return false
        }
    }

    /// Stores (or refreshes) the copy of a user homed in another cell (its id's).
    public func upsertReplica(_ user: User) async throws {
        try await run(prepared: "\(upsertingReplicas: [user])")
    }

    public func user(id: Snowflake) async throws -> User? {
        try await users(ids: [id]).first
    }

    public func users(ids: [Snowflake]) async throws -> [User] {
        guard !ids.isEmpty else { return [] }
        let rows = try await run(prepared: "SELECT \(unescaped: Columns.user("u", as: "u_")) FROM users u WHERE u.id = ANY(\(ids.map(\.int64)))")
        return try rows.map { try $0.makeRandomAccess().user(prefix: "u_") }
    }

    /// A person's user and password hash, by username (case-insensitive).
    public func credentials(username: String) async throws -> (User, String)? {
        let rows = try await run("""
            SELECT \(unescaped: Columns.user("u", as: "u_")), u.password_hash FROM users u
            WHERE lower(u.username) = lower(\(username)) AND NOT u.bot AND u.password_hash IS NOT NULL AND u.deactivated_at IS NULL
            """)
        guard let row = rows.first?.makeRandomAccess() else { return nil }
        return (try row.user(prefix: "u_"), try row["password_hash"].decode(String.self))
    }

    /// Replaces a password hash with a stronger one, unless it changed meanwhile.
    public func setPasswordHash(userID: Snowflake, to hash: String, replacing old: String) async throws {
        try await run("UPDATE users SET password_hash = \(hash) WHERE id = \(userID.int64) AND password_hash = \(old)")
    }

    /// The owner of a bot (its application's owner), if any.
    public func botOwner(botID: Snowflake) async throws -> User? {
        let rows = try await run("""
            SELECT \(unescaped: Columns.user("o", as: "o_")) FROM users b JOIN users o ON o.id = b.owner_id WHERE b.id = \(botID.int64)
            """)
        return try rows.first.map { try $0.makeRandomAccess().user(prefix: "o_") }
    }

    public func insertToken(id: Snowflake, userID: Snowflake, kind: Int, fingerprint: String) async throws {
        try await run("INSERT INTO tokens (id, user_id, kind, fingerprint) VALUES (\(id.int64), \(userID.int64), \(kind), \(fingerprint))")
    }

    /// Marks tokens revoked by id or by fingerprint; returns the ids revoked now.
    public func revokeTokens(id: Snowflake? = nil, fingerprint: String? = nil, userID: Snowflake? = nil) async throws -> [Snowflake] {
        let rows = try await run("""
            UPDATE tokens SET revoked_at = now()
            WHERE revoked_at IS NULL AND (id = \(id?.int64) OR fingerprint = \(fingerprint) OR user_id = \(userID?.int64))
            RETURNING id
            """)
        return try rows.map { Snowflake(int64: try $0.decode(Int64.self)) }
    }

    /// Whether a token was revoked (an unknown token counts as revoked).
    public func isTokenRevoked(_ id: Snowflake) async throws -> Bool {
        try await run("SELECT revoked_at IS NOT NULL FROM tokens WHERE id = \(id.int64)").first?.decode(Bool.self) ?? true
    }

    public func revokedTokenIDs() async throws -> [Snowflake] {
        try await run("SELECT id FROM tokens WHERE revoked_at IS NOT NULL").map { Snowflake(int64: try $0.decode(Int64.self)) }
    }

    public func tokens(userID: Snowflake) async throws -> [TokenRecord] {
        try await run("SELECT id, user_id, kind, created_at, revoked_at FROM tokens WHERE user_id = \(userID.int64) ORDER BY id").map { row in
            let (id, user, kind, created, revoked) = try row.decode((Int64, Int64, Int, Date, Date?).self)
            return TokenRecord(id: Snowflake(int64: id), userID: Snowflake(int64: user), kind: kind, createdAt: created, revokedAt: revoked)
        }
    }
}

/// A replica's profile follows its home's; a row that already says the same is left as it is
/// (every relayed batch upserts its authors: rewriting them each time cost a row version and its
/// WAL per author per batch). A local user (no home cell) is never overwritten.
private let replicaUpdate = """
    ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username, global_name = EXCLUDED.global_name,
        avatar = EXCLUDED.avatar, bot = EXCLUDED.bot
    WHERE users.home_cell IS NOT NULL
      AND (users.username, users.global_name, users.avatar, users.bot)
          IS DISTINCT FROM (EXCLUDED.username, EXCLUDED.global_name, EXCLUDED.avatar, EXCLUDED.bot)
    """

extension PostgresQuery.StringInterpolation {
    /// The statement that stores (or refreshes) the copies of several users, each homed in its
    /// id's cell, for `upsertReplica` and for a statement that does more in the same round trip.
    mutating func appendInterpolation(upsertingReplicas users: [User]) {
        // Arrays cannot hold NULL: an absent name or avatar travels beside a flag.
        appendLiteral("""
            INSERT INTO users (id, username, global_name, avatar, bot, home_cell)
            SELECT id, username, CASE WHEN has_name THEN global_name END, CASE WHEN has_avatar THEN avatar END, bot, home_cell
            FROM unnest(
            """)
        appendInterpolation(users.map(\.id.int64)); appendLiteral(", ")
        appendInterpolation(users.map(\.username)); appendLiteral(", ")
        appendInterpolation(users.map { $0.global_name != nil }); appendLiteral(", ")
        appendInterpolation(users.map { $0.global_name ?? "" }); appendLiteral(", ")
        appendInterpolation(users.map { $0.avatar != nil }); appendLiteral(", ")
        appendInterpolation(users.map { $0.avatar ?? "" }); appendLiteral(", ")
        appendInterpolation(users.map(\.bot)); appendLiteral(", ")
        appendInterpolation(users.map(\.id.cell))
        appendLiteral(") AS t(id, username, has_name, global_name, has_avatar, avatar, bot, home_cell)\n")
        appendLiteral(replicaUpdate)
    }
}
