import ConcordModels
import Foundation
import PostgresNIO

/// What a message's reactions and pin add to it when rendered.
public struct MessageDecorations: Sendable {
    /// Per message, its emoji in the order they were first used, with counts and whether the
    /// viewer is among the reactors.
    public var reactions: [Snowflake: [(emoji: String, count: Int, mine: Bool)]] = [:]
    public var pinned: Set<Snowflake> = []
    public init() {}
}

/// Where one emoji stands on a message before a reaction is added.
public struct ReactionStanding: Sendable {
    /// Distinct emoji on the message.
    public var kinds: Int
    /// Whether someone already reacted with this emoji.
    public var emojiPresent: Bool
    /// Whether the user already did.
    public var mine: Bool
}

/// Reactions: a row per user and emoji on a message.
extension SQLExecutor {
    public func reactionStanding(channelID: Snowflake, messageID: Snowflake, emoji: String, userID: Snowflake) async throws -> ReactionStanding {
        let row = try await run("""
            SELECT count(DISTINCT emoji)::int, COALESCE(bool_or(emoji = \(emoji)), false),
                   COALESCE(bool_or(emoji = \(emoji) AND user_id = \(userID.int64)), false)
            FROM message_reactions WHERE channel_id = \(channelID.int64) AND message_id = \(messageID.int64)
            """).first
        let (kinds, present, mine) = try row?.decode((Int, Bool, Bool).self) ?? (0, false, false)
        return ReactionStanding(kinds: kinds, emojiPresent: present, mine: mine)
    }

    /// Answers whether the reaction is new.
    public func addReaction(channelID: Snowflake, messageID: Snowflake, emoji: String, userID: Snowflake) async throws -> Bool {
        !(try await run("""
            INSERT INTO message_reactions (channel_id, message_id, emoji, user_id)
            VALUES (\(channelID.int64), \(messageID.int64), \(emoji), \(userID.int64))
            ON CONFLICT DO NOTHING RETURNING 1
            """)).isEmpty
    }

    /// Removes one user's reaction (nil: everyone's) with `emoji` (nil: every emoji); answers
    /// whether any was there.
    public func removeReactions(channelID: Snowflake, messageID: Snowflake, emoji: String?, userID: Snowflake?) async throws -> Bool {
        !(try await run("""
            DELETE FROM message_reactions
            WHERE channel_id = \(channelID.int64) AND message_id = \(messageID.int64)
              AND (\(emoji)::text IS NULL OR emoji = \(emoji)) AND (\(userID?.int64)::bigint IS NULL OR user_id = \(userID?.int64))
            RETURNING 1
            """)).isEmpty
    }

    /// A page of the users who reacted with `emoji`, by id after `after`, with their profiles
    /// where this cell has them.
    public func reactors(channelID: Snowflake, messageID: Snowflake, emoji: String, after: Snowflake, limit: Int) async throws -> [User] {
        try await run("""
            SELECT \(unescaped: Columns.user("u", as: "u_"))
            FROM message_reactions r JOIN users u ON u.id = r.user_id
            WHERE r.channel_id = \(channelID.int64) AND r.message_id = \(messageID.int64) AND r.emoji = \(emoji) AND r.user_id > \(after.int64)
            ORDER BY r.user_id LIMIT \(limit)
            """).map { try $0.makeRandomAccess().user(prefix: "u_") }
    }

    /// The reactions and pins of messages of one channel, in one round trip; `viewer`'s own
    /// reactions are marked.
    public func decorations(channelID: Snowflake, messageIDs: [Snowflake], viewer: Snowflake?) async throws -> MessageDecorations {
        var found = MessageDecorations()
        guard !messageIDs.isEmpty else { return found }
        let ids = messageIDs.map(\.int64)
        let rows = try await run("""
            SELECT message_id, emoji, count(*)::int, COALESCE(bool_or(user_id = \(viewer?.int64)), false), min(reacted_at) AS first
            FROM message_reactions WHERE channel_id = \(channelID.int64) AND message_id = ANY(\(ids))
            GROUP BY message_id, emoji
            UNION ALL
            SELECT message_id, NULL, 0, false, pinned_at FROM message_pins WHERE channel_id = \(channelID.int64) AND message_id = ANY(\(ids))
            ORDER BY first
            """)
        for row in rows {
            let (id, emoji, count, mine, _) = try row.decode((Int64, String?, Int, Bool, Date).self)
            if let emoji {
                found.reactions[Snowflake(int64: id), default: []].append((emoji, count, mine))
            } else {
                found.pinned.insert(Snowflake(int64: id))
            }
        }
        return found
    }

    /// The emoji `userID` reacted with on the given messages.
    public func ownReactions(channelID: Snowflake, messageIDs: [Snowflake], userID: Snowflake) async throws -> Set<OwnReaction> {
        Set(try await run("""
            SELECT message_id, emoji FROM message_reactions
            WHERE channel_id = \(channelID.int64) AND message_id = ANY(\(messageIDs.map(\.int64))) AND user_id = \(userID.int64)
            """).map { row in
            let (id, emoji) = try row.decode((Int64, String).self)
            return OwnReaction(messageID: Snowflake(int64: id), emoji: emoji)
        })
    }

    /// A deleted message's reactions, pin and attachments go with it; answers the blobs its
    /// attachments were (to remove once nothing else names them).
    public func deleteMessageExtras(channelID: Snowflake, messageIDs: [Snowflake]) async throws -> [String] {
        let ids = messageIDs.map(\.int64)
        try await run("DELETE FROM message_reactions WHERE channel_id = \(channelID.int64) AND message_id = ANY(\(ids))")
        try await run("DELETE FROM message_pins WHERE channel_id = \(channelID.int64) AND message_id = ANY(\(ids))")
        return try await deleteAttachments(channelID: channelID, messageIDs: messageIDs)
    }
}

public struct OwnReaction: Sendable, Hashable {
    public var messageID: Snowflake
    public var emoji: String
    public init(messageID: Snowflake, emoji: String) {
        self.messageID = messageID
        self.emoji = emoji
    }
}
