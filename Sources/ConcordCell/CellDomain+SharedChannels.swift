import ConcordModels
import ConcordPermissions
import ConcordStorage
import Foundation

/// Writes to a shared channel by members of a workspace of another cell it is shared into: their
/// own cell checks them against its replica and hands the write to the channel's home, which
/// stores it (the relay brings it back to the replica).
extension CellDomain {
    /// The caller as a writer in a replica here: a member of the local workspace the channel is
    /// shared into. (A DM's replica sends writes home through the edge instead.)
    func replicaWriter(_ access: ChannelAccess) throws -> (author: User, workspace: Snowflake) {
        try refuseAtDMReplica(access)
        guard let author = access.member else { throw APIError.missingAccess }
        return (author.user, access.channel.guild_id)
    }

    /// A message written here for a member of a workspace of another cell this channel is
    /// shared into (their cell checked their access and asks on their behalf).
    public func createSharedMessage(_ channelID: Snowflake, _ request: MessageCreateRequest, author: User, via workspaceID: Snowflake,
                                    uploads: [Int: Upload] = [:], baseURL: String = "") async throws -> String {
        try Validation.validate(request)
        let channel = try await sharedChannel(channelID, via: workspaceID)
        if author.id.cell != cellID { try await db.upsertReplica(author) }
        return try await post(channelID, request, author: author, authorMember: nil, permissions: .everyoneDefault, guildID: channel.guild_id, dmUsers: nil,
                              uploads: uploads, baseURL: baseURL)
    }

    /// An edit (or, without one, a deletion) of their own message by a member of a workspace this
    /// channel is shared into; answers the edited message. Only the author may: moderators of the
    /// other workspace manage their side's members, not this channel's messages.
    public func changeSharedMessage(_ change: SharedChange) async throws -> Message? {
        let access = try await sharedAccess(change.channel_id, via: change.workspace_id, for: change.author)
        guard let request = change.edit else {
            try await delete(change.message_id, in: access, by: change.author.id)
            return nil
        }
        try Validation.validate(request)
        return try await edit(change.message_id, in: access, request, by: change.author.id, uploads: change.uploads, baseURL: change.base_url ?? "")
    }

    /// A member of a workspace this channel is shared into, as an access to it: what they may
    /// do here is what @everyone may by default (as for their posts, `createSharedMessage`):
    /// this workspace's roles are not theirs.
    func sharedAccess(_ channelID: Snowflake, via workspaceID: Snowflake, for user: User) async throws -> ChannelAccess {
        let channel = try await sharedChannel(channelID, via: workspaceID)
        let everyone = RoleGrant(id: channel.guild_id, permissions: .everyoneDefault, position: 0)
        return ChannelAccess(channel: channel, ownerID: Snowflake(0), user: user,
                             member: MemberRecord(user: user, nick: nil, joinedAt: Date(timeIntervalSince1970: 0)),
                             roles: RoleSnapshot(roles: [everyone], memberRoleIDs: []))
    }

    private func sharedChannel(_ channelID: Snowflake, via workspaceID: Snowflake) async throws -> GuildChannel {
        guard let channel = try await db.channel(id: channelID), try await db.isShared(channelID, into: workspaceID) else {
            throw APIError.missingAccess
        }
        return channel
    }

    // MARK: Share invites (Slack Connect's flow: one owner offers, the other accepts)

    /// How long a share invite can be accepted.
    static let shareInviteLifetime: TimeInterval = 7 * 86_400

    /// `POST /channels/{id}/share-invites`: the owner of the channel's workspace offers it.
    public func createShareInvite(_ channelID: Snowflake, caller: Caller) async throws -> ShareInvite {
        let access = try await requireChannel(channelID, caller: caller, needs: [.viewChannel, .manageChannels])
        guard access.dmUsers == nil, access.channel.type == ChannelType.guildText.rawValue, access.homeCell == nil else {
            throw APIError.invalidForm(.single(["channel_id"], code: "CHANNEL_TYPE_INVALID", message: "Only a text channel of this workspace can be shared"))
        }
        guard caller.userID == access.ownerID else { throw APIError.missingPermissions }
        let expires = Date().addingTimeInterval(Self.shareInviteLifetime)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5 {
            let code = InviteCode.make(cell: cellID, using: &rng)
            if try await db.insertShareInvite(code: code, channelID: channelID, inviterID: caller.userID, expiresAt: expires) {
                return ShareInvite(code: code, channelID: channelID, guildID: access.channel.guild_id, inviterID: caller.userID,
                                   expiresAt: DiscordTimestamp.string(from: expires))
            }
        }
        throw APIError.internalError
    }

    /// `POST /guilds/{id}/share-invites/{code}`: the owner of a workspace here accepts a share
    /// invite of a channel homed in another cell. The home records the share (so the relay
    /// carries everything after it), this cell copies the history so far and makes the replica.
    /// Accepting again is answered with the same channel.
    public func acceptShareInvite(_ code: String, into workspaceID: Snowflake, caller: Caller) async throws -> GuildChannel {
        let access = try await requireWorkspace(workspaceID, caller: caller)
        guard caller.userID == access.workspace.ownerID else { throw APIError.missingPermissions }
        // A code of a moved workspace's channel lives where the directory says, not where it was made.
        let home = directory.entry(DirectoryEntry.key(invite: code))?.cell_id ?? InviteCode.cell(of: code)
        guard let home, home != cellID else { throw APIError.unknownInvite }
        let channel = try await peers.claimShare(SharedHistoryRequest(channel_id: nil, workspace_id: workspaceID, code: code, before: nil), home: home)
        return try await acceptShare(channel, homeCell: home, into: workspaceID) { [peers] before in
            let request = SharedHistoryRequest(channel_id: channel.id, workspace_id: workspaceID, code: nil, before: before)
            return try await peers.sharedHistory(request, home: home).map { try Self.record($0, workspace: workspaceID) }
        }.replica
    }

    /// The home's side of an acceptance: takes the code for the workspace and records the share.
    public func claimShare(_ request: SharedHistoryRequest) async throws -> GuildChannel {
        let destination = directory.home(workspace: request.workspace_id)
        guard let code = request.code, destination != cellID else { throw APIError.unknownInvite }
        let channel = try await commit { tx in
            guard let channelID = try await tx.claimShareInvite(code: code, workspaceID: request.workspace_id),
                  let channel = try await tx.channel(id: channelID) else { throw APIError.unknownInvite }
            try await tx.shareChannel(channelID, into: request.workspace_id, cell: destination)
            return channel
        }
        relayWakes.invalidate()
        return channel
    }

    /// A page of a shared channel's history (newest first, before `before`), for the cell
    /// making its replica.
    public func sharedHistory(_ request: SharedHistoryRequest) async throws -> [Message] {
        guard let channelID = request.channel_id else { throw APIError.unknownChannel }
        _ = try await sharedChannel(channelID, via: request.workspace_id)
        let records = try await history.page(channelID, request.before.map { .before($0) } ?? .latest, limit: Self.sharedHistoryPage)
        return try await Presenter.messages(records, db: db, links: links)
    }
}
