import ConcordModels
import ConcordStorage
import Foundation

/// Direct messages. A DM is homed in the cell of its lower user id (`DMChannel.homeCell`), so
/// whoever opens it first, both find the same channel there; edges route the opening request
/// to that cell. Its events are addressed to each of the two users (their edges follow the
/// user's topic in every cell), and the other user's cell keeps a replica through the relay.
extension CellDomain {
    /// `POST /users/@me/channels`: the DM with `recipient_id`, created on first use.
    public func openDM(_ request: DMCreateRequest, caller: Caller) async throws -> DMChannel {
        let recipient = request.recipient_id
        guard recipient != caller.userID else { throw APIError.cannotSendToUser }
        guard DMChannel.homeCell(caller.userID, recipient) == cellID else {
            throw APIError.invalidForm(.single(["recipient_id"], code: "BASE_TYPE_INVALID", message: "This DM is homed in another cell"))
        }
        if let existing = try await db.dm(between: caller.userID, and: recipient) { return existing.channel(for: caller.userID) }
        guard try await db.user(id: caller.userID) != nil else { throw APIError.profileNotHere }
        guard try await db.user(id: recipient) != nil else { throw APIError.unknownUser }
        let id = ids.next()
        let created = try await commit { tx -> DMRecord? in
            guard try await tx.insertDM(id: id, between: caller.userID, and: recipient) else { return nil }
            guard let dm = try await tx.dm(id: id) else { return nil }
            for user in dm.users {
                try await tx.insertEvent(try event("CHANNEL_CREATE", guild: nil, channel: id, user: user.id, dm.channel(for: user.id)))
            }
            return dm
        }
        if let created { return created.channel(for: caller.userID) }
        // Another request opened it between the look-up and the insert.
        guard let dm = try await db.dm(between: caller.userID, and: recipient) else { throw APIError.unknownChannel }
        return dm.channel(for: caller.userID)
    }

    /// `GET /users/@me/channels` and READY's private_channels: the caller's DMs, held here at
    /// home or as replicas.
    public func dmChannels(_ caller: Caller) async throws -> [DMChannel] {
        try await db.dms(of: caller.userID).map { $0.channel(for: caller.userID) }
    }

    /// The DM as the caller sees it (for `GET /channels/{id}`).
    func dmChannel(_ id: Snowflake, caller: Caller) async throws -> DMChannel {
        guard let dm = try await db.dm(id: id), dm.users.contains(where: { $0.id == caller.userID }) else { throw APIError.unknownChannel }
        return dm.channel(for: caller.userID)
    }

    /// An event of a channel: one for its workspace, or for a DM one addressed to each user.
    func channelEvents(_ type: String, access: ChannelAccess, _ value: some Encodable) throws -> [PendingEvent] {
        Self.addressed(type, channel: access.channel.id, guild: access.guildID, dmUsers: access.dmUsers, payload: try WireJSON.encodeString(value))
    }

    static func addressed(_ type: String, channel: Snowflake, guild: Snowflake?, dmUsers: [Snowflake]?, payload: String) -> [PendingEvent] {
        guard let users = dmUsers else { return [PendingEvent(type: type, guildID: guild, channelID: channel, payload: payload)] }
        return users.map { PendingEvent(type: type, guildID: nil, channelID: channel, userID: $0, payload: payload) }
    }

    /// A DM replica answers reads only: posts, acks and typing go to the DM's home, where its
    /// messages are numbered. Answering "unknown channel" sends the edge there.
    func refuseAtDMReplica(_ access: ChannelAccess) throws {
        if access.dmUsers != nil, access.homeCell != nil { throw APIError.unknownChannel }
    }

    // MARK: The replica side (applied by the relay, inside its transaction)

    /// A DM's CHANNEL_CREATE addressed to one of this cell's users: the DM's replica, with a
    /// copy of the other user. Answers whether it was new.
    func openDMReplica(_ event: PendingEvent, source: Int, _ tx: Transaction) async throws -> Bool {
        guard event.type == "CHANNEL_CREATE", event.guildID == nil, let user = event.userID, user.cell == cellID,
              let dm = try? WireJSON.decode(DMChannel.self, from: Data(event.payload.utf8)), dm.type == ChannelType.dm.rawValue,
              let other = dm.recipients.first else { return false }
        if other.id.cell != cellID { try await tx.upsertReplica(other) }
        return try await tx.insertDM(id: dm.id, between: user, and: other.id, homeCell: source)
    }

    /// A message event of a DM replica; answers whether it changed the replica (each event
    /// comes once per user of the DM: the second changes nothing).
    func applyToDMReplica(_ event: PendingEvent, channel: Snowflake, byID: [Snowflake: Message], _ tx: Transaction) async throws -> Bool {
        if event.type.hasPrefix("MESSAGE_REACTION_") { return try await applyRelayedReaction(event, channel: channel, tx) }
        guard let id = Self.payloadID(event.payload) else { return false }
        switch event.type {
        case "MESSAGE_CREATE", "MESSAGE_UPDATE":
            guard let message = byID[id] else { return false }
            if message.author.id.cell != cellID { try await tx.upsertReplica(message.author) }
            guard try await tx.upsertRelayedMessage(Self.record(message, workspace: nil)) else { return false }
            try await tx.raiseLastMessage(channelID: channel, to: id)
            return true
        case "MESSAGE_DELETE":
            guard try await tx.deleteMessage(channelID: channel, id: id) != nil else { return false }
            _ = try await tx.deleteMessageExtras(channelID: channel, messageIDs: [id])
            return true
        default:
            return false
        }
    }
}
