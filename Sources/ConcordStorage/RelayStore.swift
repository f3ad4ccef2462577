import ConcordModels
import Foundation
import PostgresNIO

/// Shared channels: the home cell's record of where a channel is shared, and on the other side
/// the replica the relay keeps.
extension SQLExecutor {
    /// Records that a channel is shared into a workspace homed in `cell` (its id's cell, or
    /// where it moved).
    public func shareChannel(_ channelID: Snowflake, into workspaceID: Snowflake, cell: Int) async throws {
        try await run("""
            INSERT INTO channel_shares (channel_id, workspace_id, cell_id) VALUES (\(channelID.int64), \(workspaceID.int64), \(cell))
            ON CONFLICT DO NOTHING
            """)
    }

    /// Every channel of this cell shared into another cell's workspace, with that cell.
    public func channelShares() async throws -> [(channel: Snowflake, cell: Int)] {
        try await run("SELECT channel_id, cell_id FROM channel_shares").map { row in
            let (channel, cell) = try row.decode((Int64, Int32).self)
            return (Snowflake(int64: channel), Int(cell))
        }
    }

    public func isShared(_ channelID: Snowflake, into workspaceID: Snowflake) async throws -> Bool {
        !(try await run("SELECT 1 FROM channel_shares WHERE channel_id = \(channelID.int64) AND workspace_id = \(workspaceID.int64)")).isEmpty
    }

    /// The channel, homed in another cell, as a channel of a local workspace.
    public func insertReplicaChannel(_ c: GuildChannel, homeCell: Int) async throws {
        try await run("""
            INSERT INTO channels (id, workspace_id, type, name, topic, position, parent_id, nsfw, home_cell)
            VALUES (\(c.id.int64), \(c.guild_id.int64), \(c.type), \(c.name), \(c.topic), \(c.position), NULL, \(c.nsfw), \(homeCell))
            ON CONFLICT (id) DO NOTHING
            """)
    }

    /// The home cell of a replica channel here (nil: the channel is local, or unknown).
    public func replicaHome(channelID: Snowflake) async throws -> Int? {
        try await run("SELECT home_cell FROM channels WHERE id = \(channelID.int64)").first?.decode(Int?.self) ?? nil
    }

    /// What a relayed batch needs to know before it writes, in one round trip: the local
    /// workspace each of its channels that is a replica of `homeCell` belongs to (nil for a
    /// DM), and which of its messages' buckets (`buckets`) this cell has archived cold.
    public func relayTargets(homeCell: Int, channels: [Snowflake], buckets: [ChannelBucket]) async throws
        -> (replicas: [Snowflake: Snowflake?], cold: Set<ChannelBucket>) {
        guard !channels.isEmpty || !buckets.isEmpty else { return ([:], []) }
        var replicas: [Snowflake: Snowflake?] = [:]
        var cold: Set<ChannelBucket> = []
        for row in try await run(prepared: """
            SELECT false, id, workspace_id, 0 FROM channels WHERE home_cell = \(homeCell) AND id = ANY(\(channels.map(\.int64)))
            UNION ALL
            SELECT DISTINCT true, a.channel_id, NULL::int8, a.bucket
            FROM unnest(\(buckets.map(\.channel.int64)), \(buckets.map(\.bucket))) AS p(channel_id, bucket) \(unescaped: Self.archivedCold("p"))
            """) {
            let (isCold, id, workspace, bucket) = try row.decode((Bool, Int64, Int64?, Int).self)
            if isCold {
                cold.insert(ChannelBucket(channel: Snowflake(int64: id), bucket: bucket))
            } else {
                replicas[Snowflake(int64: id)] = .some(workspace.map(Snowflake.init(int64:)))
            }
        }
        return (replicas, cold)
    }

    /// The join that keeps, of the (channel_id, bucket) pairs of `pairs`, those archived cold here.
    private static func archivedCold(_ pairs: String) -> String {
        """
        JOIN archived_channels a ON a.channel_id = \(pairs).channel_id AND a.bucket = \(pairs).bucket
        JOIN archive_files f ON f.id = a.file_id AND f.state = 'cold'
        """
    }

    /// The end of an applied page, in one statement (each statement of a page is a round trip on
    /// the way of every relayed event): the events it queues for this cell's sessions go into the
    /// outbox (as `insertEvents`), the relay's position moves to `through` (nil: it stays), and
    /// the answer says whether any of `written` (the channel and bucket of each replica row the
    /// page wrote) is archived cold now. Read after the writes, that finds a bucket the tier
    /// mover archived meanwhile, beside which a row was written: the caller rolls the page back.
    public func finishRelayedPage(source: Int, through: Int64?, events: [PendingEvent], written: [ChannelBucket]) async throws -> Bool {
        guard through != nil || !events.isEmpty || !written.isEmpty else { return false }
        return try await run(prepared: """
            WITH moved AS (
                INSERT INTO relay_cursors (source_cell, seq, applied_at) SELECT \(source), \(through ?? 0), now() WHERE \(through != nil)
                ON CONFLICT (source_cell) DO UPDATE SET seq = EXCLUDED.seq, applied_at = now()
            ), queued AS (
                \(insertingEvents: events)
            )
            SELECT EXISTS (
                SELECT 1 FROM unnest(\(written.map(\.channel.int64)), \(written.map(\.bucket))) AS w(channel_id, bucket)
                \(unescaped: Self.archivedCold("w")))
            """).first?.decode(Bool.self) ?? false
    }

    public func relayCursor(source: Int) async throws -> (seq: Int64, appliedAt: Date?) {
        guard let row = try await run("SELECT seq, applied_at FROM relay_cursors WHERE source_cell = \(source)").first else { return (0, nil) }
        let (seq, at) = try row.decode((Int64, Date).self)
        return (seq, at)
    }

    /// The relay's position in a source's outbox, locked for this transaction (two relays of
    /// the same pair apply one after the other, the second finding nothing left to do), in one
    /// statement that also lets the transaction's commit go without waiting for the disk. That
    /// is safe for an applied batch alone: a crash that loses the batch loses its cursor with
    /// it, and the relay reads the batch again from the source (which keeps its rows for the
    /// retention); and nothing the batch queued is published before it is durable, since this
    /// cell's sequencer, which publishes it, commits durably later in the same log. Only a read
    /// of the replica in between may see a message that a crash takes back until it is applied again.
    /// The same statement has the transaction's prepared statements run on their generic plans:
    /// PostgreSQL kept planning the batch's reads afresh for each page (their arrays' lengths
    /// vary), and planning cost more than running them.
    public func lockRelayCursorForApplying(source: Int) async throws -> Int64 {
        try await run(prepared: """
            WITH commit_mode AS (SELECT \(unescaped: Self.commitWithoutWaitingForDisk), set_config('plan_cache_mode', 'force_generic_plan', true))
            INSERT INTO relay_cursors (source_cell, seq) SELECT \(source), 0 FROM commit_mode
            ON CONFLICT (source_cell) DO UPDATE SET seq = relay_cursors.seq
            RETURNING seq
            """).first?.decode(Int64.self) ?? 0
    }

    /// Moves the relay's position in a source's outbox (back for a replay; forward, a page does
    /// it as it ends): the page end's statement with nothing else to do.
    public func setRelayCursor(source: Int, seq: Int64) async throws {
        _ = try await finishRelayedPage(source: source, through: seq, events: [], written: [])
    }

    /// Writes a relayed message (created or edited at its home) into the replica: inserted
    /// once, later versions replace it. Answers whether anything changed (a message applied
    /// again, by a restarted relay or a replay, changes nothing).
    public func upsertRelayedMessage(_ m: MessageRecord) async throws -> Bool {
        !(try await upsertRelayedMessages([m])).isEmpty
    }

    /// The same for a batch of relayed messages (one row per id), in one statement that also
    /// stores their `authors`' copies (as `upsertReplica`; one round trip fewer for each relayed
    /// page); answers the ids of the rows that changed.
    public func upsertRelayedMessages(_ batch: [MessageRecord], authors: [User] = []) async throws -> Set<Snowflake> {
        guard !batch.isEmpty || !authors.isEmpty else { return [] }
        // Arrays cannot hold NULL here, so absent ids travel as 0 (never an id), an absent nonce
        // as "" (never JSON text) and an absent edit time beside a flag. Prepared: every relayed
        // page runs it. (No foreign key ties a message to its author's row: the two inserts may
        // run in either order.)
        let rows = try await run(prepared: """
            WITH authors AS (\(upsertingReplicas: authors))
            INSERT INTO messages (channel_id, bucket, id, workspace_id, author_id, type, content, tts, mention_everyone,
                                  mention_ids, embeds, components, nonce, flags, pinned, reference_message_id, reference_channel_id,
                                  reference_guild_id, edited_at, attachments)
            SELECT channel_id, bucket, id, NULLIF(workspace_id, 0), author_id, type, content, tts, mention_everyone,
                   mention_ids::bigint[], embeds::jsonb, components::jsonb, NULLIF(nonce, ''), flags, pinned,
                   NULLIF(reference_message_id, 0), NULLIF(reference_channel_id, 0), NULLIF(reference_guild_id, 0),
                   CASE WHEN edited THEN edited_at END, attachments::jsonb
            FROM unnest(\(batch.map(\.channelID.int64)), \(batch.map(\.id.bucket)), \(batch.map(\.id.int64)),
                        \(batch.map { $0.workspaceID?.int64 ?? 0 }), \(batch.map(\.author.id.int64)), \(batch.map(\.type)),
                        \(batch.map(\.content)), \(batch.map(\.tts)), \(batch.map(\.mentionEveryone)),
                        \(batch.map { "{" + $0.mentionIDs.map { String($0.int64) }.joined(separator: ",") + "}" }),
                        \(batch.map(\.embedsJSON)), \(batch.map(\.componentsJSON)), \(batch.map { $0.nonceJSON ?? "" }),
                        \(batch.map(\.flags)), \(batch.map(\.pinned)), \(batch.map { $0.referenceMessageID?.int64 ?? 0 }),
                        \(batch.map { $0.referenceChannelID?.int64 ?? 0 }), \(batch.map { $0.referenceGuildID?.int64 ?? 0 }),
                        \(batch.map { $0.editedAt != nil }), \(batch.map { $0.editedAt ?? Date(timeIntervalSince1970: 0) }),
                        \(batch.map(\.attachmentsJSON)))
                 AS t(channel_id, bucket, id, workspace_id, author_id, type, content, tts, mention_everyone, mention_ids, embeds,
                      components, nonce, flags, pinned, reference_message_id, reference_channel_id, reference_guild_id, edited,
                      edited_at, attachments)
            ON CONFLICT (channel_id, bucket, id) DO UPDATE SET content = EXCLUDED.content, embeds = EXCLUDED.embeds,
                components = EXCLUDED.components, flags = EXCLUDED.flags, pinned = EXCLUDED.pinned, mention_ids = EXCLUDED.mention_ids,
                mention_everyone = EXCLUDED.mention_everyone, edited_at = EXCLUDED.edited_at, attachments = EXCLUDED.attachments
            WHERE (messages.content, messages.embeds, messages.components, messages.flags, messages.pinned, messages.edited_at, messages.attachments)
                  IS DISTINCT FROM (EXCLUDED.content, EXCLUDED.embeds, EXCLUDED.components, EXCLUDED.flags, EXCLUDED.pinned, EXCLUDED.edited_at,
                                    EXCLUDED.attachments)
            RETURNING id
            """)
        return Set(try rows.map { Snowflake(int64: try $0.decode(Int64.self)) })
    }

    /// Content digests of a channel's messages in id order (id, content, whether edited), for
    /// comparing a replica with its home. (Edit times are left out: a replica reads them back
    /// from Discord's microsecond strings, which may differ from the stored value by a microsecond.)
    public func channelDigest(_ channelID: Snowflake) async throws -> (count: Int, md5: String) {
        let row = try await run("""
            SELECT count(*)::int, COALESCE(md5(string_agg(id::text || ':' || content || ':' || (edited_at IS NOT NULL)::text, '|' ORDER BY id)), '')
            FROM messages WHERE channel_id = \(channelID.int64)
            """).first
        return try row?.decode((Int, String).self) ?? (0, "")
    }
}
