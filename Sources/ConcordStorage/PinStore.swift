import ConcordModels
import Foundation
import PostgresNIO

/// Pinned messages of a channel, newest pin first.
extension SQLExecutor {
    public func pinCount(channelID: Snowflake) async throws -> Int {
        try await run("SELECT count(*)::int FROM message_pins WHERE channel_id = \(channelID.int64)").first?.decode(Int.self) ?? 0
    }

    /// Answers the pin's time when it is new, nil when the message was pinned already.
    public func pin(channelID: Snowflake, messageID: Snowflake, by userID: Snowflake) async throws -> Date? {
        try await run("""
            INSERT INTO message_pins (channel_id, message_id, pinned_by) VALUES (\(channelID.int64), \(messageID.int64), \(userID.int64))
            ON CONFLICT DO NOTHING RETURNING pinned_at
            """).first?.decode(Date.self)
    }

    /// Answers whether the message was pinned.
    public func unpin(channelID: Snowflake, messageID: Snowflake) async throws -> Bool {
        !(try await run("""
            DELETE FROM message_pins WHERE channel_id = \(channelID.int64) AND message_id = \(messageID.int64) RETURNING 1
            """)).isEmpty
    }

    /// The newest pin's time, nil when the channel has none.
    public func lastPin(channelID: Snowflake) async throws -> Date? {
        try await run("SELECT max(pinned_at) FROM message_pins WHERE channel_id = \(channelID.int64)").first?.decode(Date?.self) ?? nil
    }

    /// Pins older than `before` (all when nil), newest first.
    public func pins(channelID: Snowflake, before: Date?, limit: Int) async throws -> [(messageID: Snowflake, pinnedAt: Date)] {
        try await run("""
            SELECT message_id, pinned_at FROM message_pins
            WHERE channel_id = \(channelID.int64) AND (\(before)::timestamptz IS NULL OR pinned_at < \(before))
            ORDER BY pinned_at DESC, message_id DESC LIMIT \(limit)
            """).map { row in
            let (id, at) = try row.decode((Int64, Date).self)
            return (Snowflake(int64: id), at)
        }
    }
}
