import ConcordModels
import ConcordStorage
import Foundation

/// Writes to a shared channel by members of a workspace of another cell it is shared into: their
/// own cell checks them against its replica and hands the write to the channel's home, which
/// stores it (the relay brings it back to the replica).
extension CellDomain {
    /// The caller as a writer in a replica here: a member of the local workspace the channel is
    /// shared into. (A DM's replica sends writes home through the edge instead.)
    func replicaWriter(_ channelID: Snowflake, caller: Caller, needs permission: Permissions = [.viewChannel, .sendMessages]) async throws
        -> (author: User, workspace: Snowflake) {
        let access = try await requireChannel(channelID, caller: caller, needs: permission)
        try await refuseAtDMReplica(access)
        guard let author = access.member else { throw APIError.missingAccess }
        return (author.user, access.channel.guild_id)
    }

    /// A message written here for a member of a workspace of another cell this channel is
    /// shared into (their cell checked their access and asks on their behalf).
    public func createSharedMessage(_ channelID: Snowflake, _ request: MessageCreateRequest, author: User, via workspaceID: Snowflake) async throws -> String {
        try Validation.validate(request)
        let channel = try await sharedChannel(channelID, via: workspaceID)
        if author.id.cell != cellID { try await db.upsertReplica(author, homeCell: author.id.cell) }
        return try await post(channelID, request, author: author, authorMember: nil, permissions: .everyoneDefault, guildID: channel.guild_id, dmUsers: nil)
    }

    /// An edit (or, without one, a deletion) of their own message by a member of a workspace this
    /// channel is shared into; answers the edited message. Only the author may: moderators of the
    /// other workspace manage their side's members, not this channel's messages.
    public func changeSharedMessage(_ change: SharedChange) async throws -> Message? {
        let channel = try await sharedChannel(change.channel_id, via: change.workspace_id)
        let access = ChannelAccess(channel: channel, ownerID: Snowflake(0), user: change.author,
                                   member: MemberRecord(user: change.author, nick: nil, joinedAt: Date(timeIntervalSince1970: 0)))
        guard let request = change.edit else {
            try await delete(change.message_id, in: access, by: change.author.id)
            return nil
        }
        try Validation.validate(request)
        return try await edit(change.message_id, in: access, request, by: change.author.id)
    }

    private func sharedChannel(_ channelID: Snowflake, via workspaceID: Snowflake) async throws -> GuildChannel {
        guard let channel = try await db.channel(id: channelID), try await db.isShared(channelID, into: workspaceID) else {
            throw APIError.missingAccess
        }
        return channel
    }
}
