import ConcordModels
import Foundation
import PostgresNIO

/// A DM as stored: its two users (lower id first), where it is homed, and its latest message.
public struct DMRecord: Sendable, Equatable {
    public var id: Snowflake
    public var users: [User]
    public var homeCell: Int?
    public var lastMessageID: Snowflake?

    /// The channel as `viewer` sees it: the other user is the recipient.
    public func channel(for viewer: Snowflake) -> DMChannel {
        DMChannel(id: id, lastMessageID: lastMessageID, recipients: users.filter { $0.id != viewer })
    }
}

/// Direct messages: channels between two users, outside any workspace.
extension SQLExecutor {
    /// Creates the DM (or, with `homeCell`, its replica here). Answers false when the two already
    /// have one (another request made it first): nothing is written then. Both users must be
    /// stored here (a user of another cell as a copy). Run it in a transaction: the pair's lock
    /// keeps two first messages from making two channels.
    public func insertDM(id: Snowflake, between a: Snowflake, and b: Snowflake, homeCell: Int? = nil) async throws -> Bool {
        let (low, high) = (min(a, b), max(a, b))
        try await run("SELECT pg_advisory_xact_lock(\(low.int64 ^ high.int64))")
        return !(try await run("""
            WITH channel AS (
                INSERT INTO channels (id, workspace_id, type, name, position, home_cell)
                SELECT \(id.int64), NULL, \(ChannelType.dm.rawValue), '', 0, \(homeCell)
                WHERE NOT EXISTS (SELECT 1 FROM dm_channels WHERE user_low = \(low.int64) AND user_high = \(high.int64))
                ON CONFLICT (id) DO NOTHING
                RETURNING id
            )
            INSERT INTO dm_channels (channel_id, user_low, user_high) SELECT id, \(low.int64), \(high.int64) FROM channel
            ON CONFLICT DO NOTHING
            RETURNING channel_id
            """)).isEmpty
    }

    /// A replica's latest message (at home the outbox sequencer keeps it).
    public func raiseLastMessage(channelID: Snowflake, to id: Snowflake) async throws {
        try await run("UPDATE channels SET last_message_id = GREATEST(last_message_id, \(id.int64)) WHERE id = \(channelID.int64)")
    }

    /// The DM between two users, if there is one.
    public func dm(between a: Snowflake, and b: Snowflake) async throws -> DMRecord? {
        try await dms(where: "d.user_low = \(min(a, b).int64) AND d.user_high = \(max(a, b).int64)").first
    }

    public func dm(id: Snowflake) async throws -> DMRecord? {
        try await dms(where: "d.channel_id = \(id.int64)").first
    }

    /// Every DM a user is one of the two of, newest activity first (READY asks it: prepared).
    public func dms(of user: Snowflake) async throws -> [DMRecord] {
        try await dms(ofAny: [user])
    }

    /// Every DM any of `users` is one of the two of, newest activity first.
    public func dms(ofAny users: [Snowflake]) async throws -> [DMRecord] {
        guard !users.isEmpty else { return [] }
        let ids = users.map(\.int64)
        return try await run(prepared: """
            \(unescaped: Self.dmSelect)
            WHERE (d.user_low = ANY(\(ids)) OR d.user_high = ANY(\(ids)))
            ORDER BY COALESCE(c.last_message_id, c.id) DESC
            """).map(Self.dm)
    }

    private func dms(where condition: String) async throws -> [DMRecord] {
        try await run("""
            \(unescaped: Self.dmSelect)
            WHERE \(unescaped: condition)
            ORDER BY COALESCE(c.last_message_id, c.id) DESC
            """).map(Self.dm)
    }

    private static var dmSelect: String {
        """
        SELECT c.id, c.home_cell, c.last_message_id, \(Columns.user("lo", as: "lo_")), \(Columns.user("hi", as: "hi_"))
        FROM dm_channels d
        JOIN channels c ON c.id = d.channel_id
        JOIN users lo ON lo.id = d.user_low
        JOIN users hi ON hi.id = d.user_high
        """
    }

    private static func dm(_ row: PostgresRow) throws -> DMRecord {
        let r = row.makeRandomAccess()
        return DMRecord(id: try r.snowflake("id"), users: [try r.user(prefix: "lo_"), try r.user(prefix: "hi_")],
                        homeCell: try r["home_cell"].decode(Int?.self), lastMessageID: try r.optionalSnowflake("last_message_id"))
    }
}
