import ConcordModels
import ConcordPermissions
import ConcordStorage
import Foundation

/// Read states: what each user has read, and the unread and mention counts derived from it.
extension CellDomain {
    /// Marks a channel read up to a message, then tells the user's other sessions (MESSAGE_ACK)
    /// so every device clears the badge.
    public func acknowledge(_ channelID: Snowflake, messageID: Snowflake, caller: Caller) async throws -> ReadStateEntry {
        try refuseAtDMReplica(try await requireChannel(channelID, caller: caller))
        var saved = try await db.acknowledge(userID: caller.userID, channelID: channelID, messageID: messageID, unnumbered: false)
        if saved == nil {
            // A message acked as soon as it was posted may not be numbered yet: numbered first, it
            // is read up to itself rather than up to the message before it.
            try await settleOutbox()
            saved = try await db.acknowledge(userID: caller.userID, channelID: channelID, messageID: messageID)
        }
        guard let (state, row) = saved else { throw APIError.unknownMessage }
        await counters.apply([row])
        let entry = Self.entry(state)
        let ack = try event("MESSAGE_ACK", guild: nil, channel: channelID, user: caller.userID, MessageAckPayload(entry))
        _ = try? await redis.send("PUBLISH", Topics.user(caller.userID, cell: cellName), OutboxEvent.wireJSON(seq: nil, event: ack))
        return entry
    }

    /// `POST /read-states/ack-bulk`: each entry as a single ack; channels the caller cannot see
    /// or messages that are gone are skipped, as Discord does.
    public func acknowledge(_ request: BulkAckRequest, caller: Caller) async throws {
        try Validation.validate(request)
        for item in request.read_states {
            do { _ = try await acknowledge(item.channel_id, messageID: item.message_id, caller: caller) } catch is APIError {}
        }
    }

    /// The read state of every text channel the caller can view, for READY and
    /// GET /users/@me/read-states: counted from the cell's Redis (rebuilding what it lacks from
    /// PostgreSQL first), or from PostgreSQL alone while Redis is unreachable.
    public func readStates(_ caller: Caller) async throws -> [ReadStateEntry] {
        try await readStates(counting: [UnreadAsk(userID: caller.userID, hidden: try await hiddenChannels(caller),
                                                  channels: try await db.textChannelIDs(userID: caller.userID))])[0]
    }

    /// One user's part of a count: the channels counted for them (`countedChannels`), less the
    /// ones of their workspaces they cannot view.
    struct UnreadAsk {
        let userID: Snowflake
        let hidden: Set<Snowflake>
        let channels: [Snowflake]
    }

    /// The read states of several users at once (READY for sessions identifying together): one
    /// Redis pipeline to read them all, and what any of them lacks rebuilt in one go.
    func readStates(counting asks: [UnreadAsk]) async throws -> [[ReadStateEntry]] {
        let counted = asks.map { ask in (user: ask.userID, channels: ask.channels.filter { !ask.hidden.contains($0) }) }
        // No channel here (a user homed elsewhere, asked for a cell's part of READY): nothing to count.
        let asking = counted.indices.filter { !counted[$0].channels.isEmpty }
        var answers = [[ReadStateEntry]](repeating: [], count: asks.count)
        var uncounted = asking
        do {
            var snapshots = try await counters.read(asking.map { counted[$0] })
            let stale = zip(asking, snapshots).filter { !$0.1.complete }.map { (user: counted[$0.0].user, snapshot: $0.1) }
            if !stale.isEmpty {
                try await counters.rebuild(stale, db: db)
                snapshots = try await counters.read(asking.map { counted[$0] })
            }
            for (index, snapshot) in zip(asking, snapshots) where snapshot.complete { answers[index] = snapshot.entries }
            uncounted = zip(asking, snapshots).filter { !$0.1.complete }.map(\.0)
        } catch {
            logger.warning("unread counters unavailable; counting in PostgreSQL", metadata: ["error": "\(error)"])
        }
        for index in uncounted {
            let ask = asks[index]
            answers[index] = try await db.readStates(userID: ask.userID).filter { !ask.hidden.contains($0.channelID) }.map(Self.entry)
        }
        return answers
    }

    /// The channels of the caller's workspaces here that they cannot view.
    func hiddenChannels(_ caller: Caller) async throws -> Set<Snowflake> {
        var hidden: Set<Snowflake> = []
        for workspace in try await db.workspaces(memberID: caller.userID) {
            guard let access = try await db.workspaceAccess(id: workspace.id, userID: caller.userID) else { continue }
            hidden.formUnion(Self.hiddenChannels(try await db.channels(workspaceID: workspace.id), access: access))
        }
        return hidden
    }

    /// Which of a workspace's channels its member (as `access` has them) cannot view.
    static func hiddenChannels(_ channels: [GuildChannel], access: WorkspaceAccess) -> [Snowflake] {
        let (member, roles) = grants(access)
        return channels.filter { channel in
            !PermissionCalculator.channel(member, in: roles, overwrites: channel.permission_overwrites.map(PermissionOverwrite.init)).contains(.viewChannel)
        }.map(\.id)
    }

    static func entry(_ r: ReadStateRecord) -> ReadStateEntry {
        ReadStateEntry(channelID: r.channelID, lastMessageID: r.lastMessageID, mentionCount: r.mentionCount, unreadCount: r.unreadCount)
    }
}
