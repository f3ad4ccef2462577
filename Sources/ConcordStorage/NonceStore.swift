import ConcordModels
import PostgresNIO

/// How long a nonce sent with `enforce_nonce` answers its first message (Discord: "a few minutes").
public enum NonceWindow {
    public static let seconds = 300
}

extension SQLExecutor {
    /// Claims `nonce` for a new message, or answers the message that already holds it: one sent
    /// by the same author in the same channel within the window. Run in the message's
    /// transaction: a concurrent claim of the same nonce waits for it, then sees it. (Only the
    /// row's own columns decide: a subquery here would read a snapshot from before the other
    /// claim committed.)
    public func claimNonce(channelID: Snowflake, authorID: Snowflake, nonce: String, messageID: Snowflake) async throws -> Snowflake? {
        let (channel, author) = (channelID.int64, authorID.int64)
        let claimed = try await run("""
            INSERT INTO message_nonces (channel_id, author_id, nonce, message_id) VALUES (\(channel), \(author), \(nonce), \(messageID.int64))
            ON CONFLICT (channel_id, author_id, nonce) DO UPDATE SET message_id = EXCLUDED.message_id, created_at = now()
            WHERE message_nonces.created_at < now() - make_interval(secs => \(NonceWindow.seconds))
            RETURNING message_id
            """)
        if !claimed.isEmpty { return nil }
        let held = try await run("SELECT message_id FROM message_nonces WHERE channel_id = \(channel) AND author_id = \(author) AND nonce = \(nonce)")
        return try held.first.map { Snowflake(int64: try $0.decode(Int64.self)) }
    }

    /// Lets a nonce go whose message is gone (deleted before the same nonce came again).
    public func releaseNonce(channelID: Snowflake, authorID: Snowflake, nonce: String, messageID: Snowflake) async throws {
        try await run("""
            DELETE FROM message_nonces WHERE channel_id = \(channelID.int64) AND author_id = \(authorID.int64)
              AND nonce = \(nonce) AND message_id = \(messageID.int64)
            """)
    }

    /// Forgets nonces older than the window.
    @discardableResult
    public func pruneNonces() async throws -> Int {
        try await run("DELETE FROM message_nonces WHERE created_at < now() - make_interval(secs => \(NonceWindow.seconds)) RETURNING 1").count
    }
}
