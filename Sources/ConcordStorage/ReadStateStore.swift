import ConcordModels
import Foundation
import PostgresNIO

/// A user's read state in one channel, with the counts a client shows.
public struct ReadStateRecord: Sendable, Equatable {
    public var channelID: Snowflake
    public var lastMessageID: Snowflake
    public var unreadCount: Int
    public var mentionCount: Int
}

extension SQLExecutor {
    /// Marks a channel read up to a message: the read sequence becomes that message's, and the
    /// mention count is recounted over the messages after it (usually none). Answers the new
    /// state, or nil when the message does not exist.
    public func acknowledge(userID: Snowflake, channelID: Snowflake, messageID: Snowflake) async throws -> ReadStateRecord? {
        let (user, channel, message) = (userID.int64, channelID.int64, messageID.int64)
        return try await run("""
            WITH target AS (
                SELECT m.id, COALESCE(m.channel_seq, c.message_seq) AS seq FROM messages m JOIN channels c ON c.id = m.channel_id
                WHERE m.channel_id = \(channel) AND m.bucket = \(messageID.bucket) AND m.id = \(message)
            ), later AS (
                SELECT count(*)::int AS mentions FROM messages
                WHERE channel_id = \(channel) AND bucket >= \(messageID.bucket) AND id > \(message)
                  AND \(user) = ANY(mention_ids) AND author_id <> \(user)
            ), saved AS (
                INSERT INTO read_states (user_id, channel_id, last_message_id, last_seq, mention_count)
                SELECT \(user), \(channel), target.id, target.seq, later.mentions FROM target, later
                ON CONFLICT (user_id, channel_id) DO UPDATE
                SET last_message_id = EXCLUDED.last_message_id, last_seq = EXCLUDED.last_seq, mention_count = EXCLUDED.mention_count
                RETURNING channel_id, last_message_id, last_seq, mention_count
            )
            SELECT s.channel_id, s.last_message_id, GREATEST(c.message_seq - s.last_seq, 0)::int AS unread,
                   s.mention_count + (SELECT count(*)::int FROM mass_mentions mm
                                      WHERE mm.channel_id = s.channel_id AND mm.message_id > s.last_message_id) AS mentions
            FROM saved s JOIN channels c ON c.id = s.channel_id
            """).first.map(Self.readState)
    }

    /// The read states of every text channel in the user's workspaces (never-read channels
    /// included, counting from zero). Each is a few primary-key lookups, whatever the channel's size.
    public func readStates(userID: Snowflake) async throws -> [ReadStateRecord] {
        let user = userID.int64
        return try await run("""
            SELECT c.id AS channel_id, COALESCE(rs.last_message_id, 0) AS last_message_id,
                   GREATEST(c.message_seq - COALESCE(rs.last_seq, 0), 0)::int AS unread,
                   COALESCE(rs.mention_count, 0) + (SELECT count(*)::int FROM mass_mentions mm
                                                    WHERE mm.channel_id = c.id AND mm.message_id > COALESCE(rs.last_message_id, 0)) AS mentions
            FROM members mb JOIN channels c ON c.workspace_id = mb.workspace_id AND c.type IN (0, 5)
            LEFT JOIN read_states rs ON rs.user_id = \(user) AND rs.channel_id = c.id
            WHERE mb.user_id = \(user)
            ORDER BY c.id
            """).map(Self.readState)
    }

    static func readState(_ row: PostgresRow) throws -> ReadStateRecord {
        let (channel, last, unread, mentions) = try row.decode((Int64, Int64, Int, Int).self)
        return ReadStateRecord(channelID: Snowflake(int64: channel), lastMessageID: Snowflake(int64: last),
                               unreadCount: unread, mentionCount: mentions)
    }
}
