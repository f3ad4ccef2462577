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

/// One stored read-state row as it changed, with the version its change took: what the cell's
/// Redis copy of read states applies (newest version wins).
public struct ReadStateRow: Sendable, Equatable {
    public var userID: Snowflake
    public var channelID: Snowflake
    public var lastMessageID: Snowflake
    public var lastSeq: Int64
    public var mentionCount: Int
    public var version: Int64

    public init(userID: Snowflake, channelID: Snowflake, lastMessageID: Snowflake, lastSeq: Int64, mentionCount: Int, version: Int64) {
        self.userID = userID; self.channelID = channelID; self.lastMessageID = lastMessageID
        self.lastSeq = lastSeq; self.mentionCount = mentionCount; self.version = version
    }

    /// The columns every read-state write returns, in `row(_:)`'s order.
    static let returning = "RETURNING user_id, channel_id, last_message_id, last_seq, mention_count, version"
    /// The assignment every read-state update adds: a new version for the changed row.
    static let newVersion = "version = nextval('read_state_versions')"

    static func row(_ row: PostgresRow) throws -> ReadStateRow {
        let (user, channel, last, seq, mentions, version) = try row.decode((Int64, Int64, Int64, Int64, Int, Int64).self)
        return ReadStateRow(userID: Snowflake(int64: user), channelID: Snowflake(int64: channel), lastMessageID: Snowflake(int64: last),
                            lastSeq: seq, mentionCount: mentions, version: version)
    }
}

extension SQLExecutor {
    /// Marks a channel read up to a message: the read sequence becomes that message's, and the
    /// mention count is recounted over the messages after it (usually none). Answers the new
    /// state, or nil when the message does not exist. A message not numbered yet (committed, its
    /// outbox row waiting for the sequencer) has no sequence of its own: with `unnumbered` the
    /// channel's present one stands in (which leaves that message counted unread once numbered),
    /// without it such a message is answered nil too (the caller numbers the outbox and asks again).
    public func acknowledge(userID: Snowflake, channelID: Snowflake, messageID: Snowflake, unnumbered: Bool = true) async throws
        -> (ReadStateRecord, ReadStateRow)? {
        let (user, channel, message) = (userID.int64, channelID.int64, messageID.int64)
        return try await run("""
            WITH target AS (
                SELECT m.id, COALESCE(m.channel_seq, c.message_seq) AS seq FROM messages m JOIN channels c ON c.id = m.channel_id
                WHERE m.channel_id = \(channel) AND m.bucket = \(messageID.bucket) AND m.id = \(message)
                  AND (m.channel_seq IS NOT NULL OR \(unnumbered))
            ), later AS (
                SELECT count(*)::int AS mentions FROM messages
                WHERE channel_id = \(channel) AND bucket >= \(messageID.bucket) AND id > \(message)
                  AND \(user) = ANY(mention_ids) AND author_id <> \(user)
            ), saved AS (
                INSERT INTO read_states (user_id, channel_id, last_message_id, last_seq, mention_count)
                SELECT \(user), \(channel), target.id, target.seq, later.mentions FROM target, later
                ON CONFLICT (user_id, channel_id) DO UPDATE
                SET last_message_id = EXCLUDED.last_message_id, last_seq = EXCLUDED.last_seq, mention_count = EXCLUDED.mention_count,
                    \(unescaped: ReadStateRow.newVersion)
                \(unescaped: ReadStateRow.returning)
            )
            SELECT s.channel_id, s.last_message_id, GREATEST(c.message_seq - s.last_seq, 0)::int AS unread,
                   s.mention_count + (SELECT count(*)::int FROM mass_mentions mm
                                      WHERE mm.channel_id = s.channel_id AND mm.message_id > s.last_message_id) AS mentions,
                   s.user_id, s.channel_id, s.last_message_id, s.last_seq, s.mention_count, s.version
            FROM saved s JOIN channels c ON c.id = s.channel_id
            """).first.map { row in
            let columns = row.makeRandomAccess()
            let (user, seq, personal, version) = (try columns[4].decode(Int64.self), try columns[7].decode(Int64.self),
                                                  try columns[8].decode(Int.self), try columns[9].decode(Int64.self))
            let record = try Self.readState(row)
            return (record, ReadStateRow(userID: Snowflake(int64: user), channelID: record.channelID, lastMessageID: record.lastMessageID,
                                         lastSeq: seq, mentionCount: personal, version: version))
        }
    }

    /// The users' stored read-state rows (what the Redis copy is rebuilt from).
    public func readStateRows(userIDs: [Snowflake]) async throws -> [ReadStateRow] {
        try await run("""
            SELECT user_id, channel_id, last_message_id, last_seq, mention_count, version FROM read_states WHERE user_id = ANY(\(userIDs.map(\.int64)))
            """).map(ReadStateRow.row)
    }

    /// The channels each viewer has read states for here, with their message sequences: the
    /// text channels of their workspaces, and their DMs homed here (a replica's messages are not
    /// numbered: the home counts them). READY and the unread counters report them. The viewers
    /// are the rows of a `viewer` table the query names first (`WITH viewer AS (…)`, from
    /// binds, so the queries' text is the same for every user and they are prepared).
    private static var countedChannels: String {
        """
        SELECT v.id AS viewer_id, c.id, c.message_seq FROM viewer v JOIN members mb ON mb.user_id = v.id
        JOIN channels c ON c.workspace_id = mb.workspace_id AND c.type IN (0, 5)
        UNION ALL
        SELECT v.id AS viewer_id, c.id, c.message_seq FROM viewer v JOIN dm_channels d ON d.user_low = v.id OR d.user_high = v.id
        JOIN channels c ON c.id = d.channel_id AND c.home_cell IS NULL
        """
    }

    public func textChannelIDs(userID: Snowflake) async throws -> [Snowflake] {
        try await textChannelIDs(userIDs: [userID])[userID] ?? []
    }

    /// Each user's channels with unread counts, in id order (a user with none is absent).
    public func textChannelIDs(userIDs: [Snowflake]) async throws -> [Snowflake: [Snowflake]] {
        guard !userIDs.isEmpty else { return [:] }
        var channels: [Snowflake: [Snowflake]] = [:]
        for row in try await run(prepared: """
            WITH viewer AS (SELECT unnest(\(userIDs.map(\.int64))::int8[]) AS id)
            SELECT c.viewer_id, c.id FROM (\(unescaped: Self.countedChannels)) c ORDER BY c.viewer_id, c.id
            """) {
            let (viewer, channel) = try row.decode((Int64, Int64).self)
            channels[Snowflake(int64: viewer), default: []].append(Snowflake(int64: channel))
        }
        return channels
    }

    /// Each channel's message sequence (the unread counters' channel side, rebuilt from here).
    public func channelSeqs(_ channelIDs: [Snowflake]) async throws -> [(channel: Snowflake, seq: Int64)] {
        try await run("SELECT id, message_seq FROM channels WHERE id = ANY(\(channelIDs.map(\.int64)))").map { row in
            let (id, seq) = try row.decode((Int64, Int64).self)
            return (Snowflake(int64: id), seq)
        }
    }

    /// The @everyone/@here messages of some channels.
    public func massMentions(_ channelIDs: [Snowflake]) async throws -> [(channel: Snowflake, message: Snowflake)] {
        try await run("SELECT channel_id, message_id FROM mass_mentions WHERE channel_id = ANY(\(channelIDs.map(\.int64)))").map { row in
            let (channel, message) = try row.decode((Int64, Int64).self)
            return (Snowflake(int64: channel), Snowflake(int64: message))
        }
    }

    /// The read states of the channels `countedChannels` names (never-read channels included,
    /// counting from zero). Each is a few primary-key lookups, whatever the channel's size.
    public func readStates(userID: Snowflake) async throws -> [ReadStateRecord] {
        try await run(prepared: """
            WITH viewer AS (SELECT \(userID.int64)::int8 AS id)
            SELECT c.id AS channel_id, COALESCE(rs.last_message_id, 0) AS last_message_id,
                   GREATEST(c.message_seq - COALESCE(rs.last_seq, 0), 0)::int AS unread,
                   COALESCE(rs.mention_count, 0) + (SELECT count(*)::int FROM mass_mentions mm
                                                    WHERE mm.channel_id = c.id AND mm.message_id > COALESCE(rs.last_message_id, 0)) AS mentions
            FROM (\(unescaped: Self.countedChannels)) c
            LEFT JOIN read_states rs ON rs.user_id = c.viewer_id AND rs.channel_id = c.id
            ORDER BY c.id
            """).map(Self.readState)
    }

    static func readState(_ row: PostgresRow) throws -> ReadStateRecord {
        let (channel, last, unread, mentions) = try row.decode((Int64, Int64, Int, Int).self)
        return ReadStateRecord(channelID: Snowflake(int64: channel), lastMessageID: Snowflake(int64: last),
                               unreadCount: unread, mentionCount: mentions)
    }
}
