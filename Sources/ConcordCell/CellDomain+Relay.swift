import ConcordModels
import ConcordStorage
import Foundation

/// The receiving side of the relay: events of channels shared into this cell's workspaces,
/// read from their home cell's outbox, applied to the local replicas in order, once.
extension CellDomain {
    /// Applies a batch read from `source`'s outbox (everything after this cell's cursor up to
    /// `lastSeq`; events this cell has no replica for are skipped) and moves the cursor to
    /// `lastSeq`, in one transaction: a batch is applied entirely or not at all, and a batch
    /// read again (a relay restarted, a replay) changes nothing already applied. Each applied
    /// event is written to this cell's outbox as an event of the local workspace, so local
    /// gateway sessions receive it — only when it changed something, so a batch applied again
    /// sends nothing twice. A page read after a position beyond this cell's cursor (`after`:
    /// the cursor was moved back for a replay since the relay last looked) is not applied, so
    /// nothing between the two is skipped. Answers how many events were applied and where the
    /// cursor is now.
    public func applyRelayed(source: Int, events: [OutboxEvent], after: Int64, through lastSeq: Int64) async throws -> (applied: Int, cursor: Int64) {
        guard source != cellID else { throw APIError.invalidForm(.single(["source"], code: "BASE_TYPE_INVALID", message: "A cell does not relay to itself")) }
        // Each message event's message, decoded once; per id, the batch's last version is what is written.
        var messageOf: [Int64: Message] = [:]
        for item in events where item.event.type == "MESSAGE_CREATE" || item.event.type == "MESSAGE_UPDATE" {
            guard item.event.channelID != nil else { continue }
            messageOf[item.seq] = try? WireJSON.decode(Message.self, from: Data(item.event.payload.utf8))
        }
        for bucket in Set(messageOf.values.map(\.id.bucket)) { try await db.ensureMessagePartition(bucket: bucket) }
        let byID = Dictionary(events.compactMap { messageOf[$0.seq] }.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        // Replica messages this cell's tier mover has archived: their edits and deletions go to
        // the cold copy, as at home (read here, outside the transaction: it may open a file).
        var cold: [Snowflake: ArchivedRow] = [:]
        for item in events where item.event.type == "MESSAGE_UPDATE" || item.event.type == "MESSAGE_DELETE" {
            guard let channel = item.event.channelID, let id = messageOf[item.seq]?.id ?? Self.payloadID(item.event.payload) else { continue }
            if let row = try await history.message(channel, id: id)?.archived { cold[id] = row }
        }
        let (applied, cursor, channels) = try await commit { tx -> (Int, Int64, Set<Snowflake>) in
            // The commit does not wait for the disk; this cell's sequencer's does (see there).
            let current = try await tx.lockRelayCursorForApplying(source: source)
            guard after <= current else { return (0, current, []) }
            let fresh = events.filter { $0.seq > current && $0.seq <= lastSeq }
            var batch = RelayedBatch()
            // A DM with one of this cell's users: its replica starts here (before its messages).
            for item in fresh {
                if try await self.openDMReplica(item.event, source: source, tx) { batch.applied += 1 }
            }
            // Once for the batch, in one statement: which channels are replicas here, which of
            // the messages' buckets are archived; then the authors' profiles.
            let (replicas, coldBuckets) = try await tx.relayTargets(
                homeCell: source, channels: Array(Set(fresh.compactMap(\.event.channelID))),
                buckets: Array(Set(fresh.compactMap { item in
                    messageOf[item.seq].map { ChannelBucket(channel: $0.channel_id, bucket: $0.id.bucket) }
                })))
            let written = fresh.compactMap { item -> Message? in
                guard let channel = item.event.channelID, case .some(.some) = replicas[channel] else { return nil }
                return messageOf[item.seq]
            }
            let authors = Dictionary(written.map { ($0.author.id, $0.author) }, uniquingKeysWith: { _, last in last })
            batch.authors = authors.values.filter { $0.id.cell != self.cellID }
            for item in fresh {
                let event = item.event
                guard let channel = event.channelID, let found = replicas[channel] else { continue }
                // A DM replica's events are not sent again from here: the DM's home addressed
                // them to both users, whose edges follow their topics in every cell.
                guard let workspace = found else {
                    try await batch.flush(tx)
                    if try await self.applyToDMReplica(event, channel: channel, byID: byID, tx) { batch.applied += 1; batch.touched.insert(channel) }
                    continue
                }
                if event.type == "MESSAGE_CREATE" || event.type == "MESSAGE_UPDATE" {
                    guard let id = messageOf[item.seq]?.id, let message = byID[id] else { continue }
                    if let archived = cold[id] {
                        try await batch.flush(tx)
                        try await tx.overrideArchived(try Self.record(message, workspace: workspace), base: archived)
                        batch.announce(event, channel: channel, workspace: workspace)
                    } else {
                        // A cold bucket without the message: it was deleted here (nothing to edit).
                        guard !coldBuckets.contains(ChannelBucket(channel: channel, bucket: id.bucket)) else { continue }
                        try batch.write(Self.record(message, workspace: workspace), for: event, workspace: workspace)
                    }
                    continue
                }
                try await batch.flush(tx)
                switch event.type {
                case "MESSAGE_DELETE":
                    guard let id = Self.payloadID(event.payload) else { continue }
                    if cold[id] != nil {
                        try await tx.deleteArchived(channelID: channel, id: id)
                    } else {
                        guard try await !tx.isCold(channelID: channel, bucket: id.bucket) else { continue }
                        guard try await tx.deleteMessage(channelID: channel, id: id) != nil else {
                            try await Self.stillWarm(channel, id, tx)
                            continue
                        }
                    }
                    // Warm or cold, the replica's copies of its reactions go with it.
                    _ = try await tx.deleteMessageExtras(channelID: channel, messageIDs: [id])
                case "MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE", "MESSAGE_REACTION_REMOVE_EMOJI", "MESSAGE_REACTION_REMOVE_ALL":
                    guard try await self.applyRelayedReaction(event, channel: channel, tx) else { continue }
                case "CHANNEL_DELETE":
                    // Deleted at home: the replica and its copies of the messages go too.
                    try await tx.deleteChannel(id: channel)
                default:
                    continue
                }
                batch.announce(event, channel: channel, workspace: workspace)
            }
            try await batch.flush(tx)
            // A row written beside a cold copy the tier mover made meanwhile: the batch is rolled
            // back and retried; the next look finds the bucket cold.
            if try await tx.finishRelayedPage(source: source, through: lastSeq > current ? lastSeq : nil, events: batch.outbox,
                                              written: Array(batch.written)) {
                throw MessageLeftWarmTier()
            }
            return (batch.applied, max(current, lastSeq), batch.touched)
        }
        for channel in channels { await hot.invalidate(channel) }
        return (applied, cursor)
    }

    /// A replica row written (or found gone) while the tier mover archived its bucket: the
    /// write went beside the cold copy, or missed it. The batch is rolled back and retried; the
    /// next look finds the message cold.
    static func stillWarm(_ channel: Snowflake, _ id: Snowflake, _ tx: Transaction) async throws {
        if try await tx.isCold(channelID: channel, bucket: id.bucket) { throw MessageLeftWarmTier() }
    }

    /// One relayed batch's changes as they are made: replica messages written together (one
    /// statement for a run of creates and edits), and the outbox events for this cell's
    /// sessions, in the batch's order, only for what changed something here.
    struct RelayedBatch {
        var applied = 0
        var touched: Set<Snowflake> = []
        var outbox: [PendingEvent] = []
        /// Where the batch wrote replica rows (channel and bucket): checked for cold copies after
        /// every write, when the page ends.
        var written: Set<ChannelBucket> = []
        /// Profiles of the batch's authors homed elsewhere, written with the first messages
        /// written (or alone at the end).
        var authors: [User] = []
        /// Creates and edits not yet written, with the events that carried them.
        private var pending: [(record: MessageRecord, event: PendingEvent, workspace: Snowflake)] = []
        /// Messages this batch changed: a later event of one is announced even though writing
        /// the same last version again changes nothing.
        private var changed: Set<Snowflake> = []

        mutating func write(_ record: MessageRecord, for event: PendingEvent, workspace: Snowflake) {
            pending.append((record, event, workspace))
        }

        /// Writes what is pending, one row per message, and announces the events whose message changed.
        mutating func flush(_ tx: Transaction) async throws {
            guard !pending.isEmpty || !authors.isEmpty else { return }
            var seen: Set<Snowflake> = []
            let rows = pending.map(\.record).filter { seen.insert($0.id).inserted }
            let fresh = try await tx.upsertRelayedMessages(rows, authors: authors)
            authors = []
            written.formUnion(rows.filter { fresh.contains($0.id) }.map { ChannelBucket(channel: $0.channelID, bucket: $0.id.bucket) })
            changed.formUnion(fresh)
            let announced = pending.filter { changed.contains($0.record.id) }
            pending = []
            for item in announced { announce(item.event, channel: item.record.channelID, workspace: item.workspace) }
        }

        /// The event as the local workspace's: the source's request id goes on (one id from the
        /// edge to every cell the change reaches).
        mutating func announce(_ event: PendingEvent, channel: Snowflake, workspace: Snowflake) {
            outbox.append(PendingEvent(type: event.type, guildID: workspace, channelID: channel, userID: nil,
                                       payload: CellDomain.relocated(event.payload, to: workspace), requestID: event.requestID))
            applied += 1
            touched.insert(channel)
        }
    }

    static func payloadID(_ payload: String) -> Snowflake? {
        (try? WireJSON.decode(JSONValue.self, from: Data(payload.utf8)))?["id"]?.stringValue.flatMap(Snowflake.init)
    }

    /// Messages of a shared channel's history copied per page (and per transaction).
    public static let sharedHistoryPage = 100

    /// Takes a channel of another cell into one of this cell's workspaces: the replica channel
    /// and CHANNEL_CREATE for the workspace's sessions first (from then on the relay applies
    /// what the channel's home publishes), then the channel's messages so far, a page at a time
    /// from `page` (the page before an id, newest first), each page in its own transaction, so
    /// no history, however long, is held in memory or in one transaction. Copying is
    /// idempotent: an interrupted acceptance is finished by accepting again. Answers the
    /// replica and how many messages were copied.
    @discardableResult
    public func acceptShare(_ channel: GuildChannel, homeCell: Int, into workspaceID: Snowflake,
                            page: (_ before: Snowflake?) async throws -> [MessageRecord]) async throws -> (replica: GuildChannel, copied: Int) {
        guard homeCell != cellID, directory.home(workspace: workspaceID) == cellID, try await db.workspace(id: workspaceID) != nil else {
            throw APIError.unknownGuild
        }
        var replica = channel
        replica.guild_id = workspaceID
        replica.parent_id = nil
        let shared = replica
        try await commit { tx in
            guard try await tx.replicaHome(channelID: shared.id) == nil else { return }
            try await tx.insertReplicaChannel(shared, homeCell: homeCell)
            try await tx.insertEvent(try event("CHANNEL_CREATE", guild: workspaceID, channel: shared.id, shared))
        }
        var copied = 0
        var before: Snowflake?
        while true {
            let batch = try await page(before)
            for bucket in Set(batch.map(\.id.bucket)) { try await db.ensureMessagePartition(bucket: bucket) }
            let rows = batch.map { message in
                var row = message
                row.workspaceID = workspaceID
                row.referenceGuildID = message.referenceGuildID.map { _ in workspaceID }
                return row
            }
            let authors = Dictionary(rows.map { ($0.author.id, $0.author) }, uniquingKeysWith: { _, last in last }).values.filter { $0.id.cell != cellID }
            var seen: Set<Snowflake> = []
            let unique = rows.filter { seen.insert($0.id).inserted }
            try await commit { tx in
                _ = try await tx.upsertRelayedMessages(unique, authors: Array(authors))
            }
            copied += batch.count
            guard batch.count == Self.sharedHistoryPage, let oldest = batch.last else { break }
            before = oldest.id
        }
        await hot.invalidate(shared.id)
        return (shared, copied)
    }

    /// A relayed message as a row of the replica (in the local workspace).
    static func record(_ m: Message, workspace: Snowflake?) throws -> MessageRecord {
        MessageRecord(id: m.id, channelID: m.channel_id, workspaceID: workspace, author: m.author, authorMember: nil, type: m.type,
                      content: m.content, tts: m.tts, mentionEveryone: m.mention_everyone, mentionIDs: m.mentions.map(\.user.id),
                      embedsJSON: try WireJSON.encodeString(m.embeds), componentsJSON: try WireJSON.encodeString(m.components),
                      nonceJSON: try m.nonce.map { try WireJSON.encodeString($0) }, flags: m.flags, pinned: m.pinned,
                      referenceMessageID: m.message_reference?.message_id, referenceChannelID: m.message_reference?.channel_id,
                      referenceGuildID: m.message_reference?.guild_id == nil ? nil : workspace,
                      editedAt: m.edited_timestamp.flatMap(DiscordTimestamp.date(from:)),
                      attachmentsJSON: try WireJSON.encodeString(m.attachments.map(\.unsigned)))
    }

    /// The payload as the local workspace's event: its guild_id, and no member object (the
    /// author's membership is in the home workspace).
    /// (Edited as text: every other member goes on as the home cell wrote it.)
    static func relocated(_ payload: String, to workspace: Snowflake) -> String {
        JSONMembers.editing(payload, replacing: ["guild_id": "\"\(workspace)\""], removing: ["member"]) ?? payload
    }
}
