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
        guard let (state, row) = try await db.acknowledge(userID: caller.userID, channelID: channelID, messageID: messageID) else {
            throw APIError.unknownMessage
        }
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
    /// `hidden`: the channels of the caller's workspaces they cannot view, when the caller has
    /// them already (READY reads each workspace's channels and access anyway).
    /// `channels`: the caller's counted channels, when a batch has read them already.
    public func readStates(_ caller: Caller, hidden known: Set<Snowflake>? = nil, channels counted: [Snowflake]? = nil) async throws -> [ReadStateEntry] {
        let hidden = if let known { known } else { try await hiddenChannels(caller) }
        let all = if let counted { counted } else { try await db.textChannelIDs(userID: caller.userID) }
        let channels = all.filter { !hidden.contains($0) }
        // No channel here (a user homed elsewhere, asked for a cell's part of READY): nothing to count.
        guard !channels.isEmpty else { return [] }
        do {
            var snapshot = try await counters.read(user: caller.userID, channels: channels)
            if !snapshot.complete {
                try await counters.rebuild(snapshot, user: caller.userID, db: db)
                snapshot = try await counters.read(user: caller.userID, channels: channels)
            }
            if snapshot.complete { return snapshot.entries }
        } catch {
            logger.warning("unread counters unavailable; counting in PostgreSQL", metadata: ["error": "\(error)"])
        }
        return try await db.readStates(userID: caller.userID).filter { !hidden.contains($0.channelID) }.map(Self.entry)
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
