import ConcordModels
import ConcordPermissions
import ConcordStorage
import Foundation

/// Channel permission overwrites, as Discord's: MANAGE_ROLES in the channel is needed to change
/// them, and only permissions the caller holds there can be allowed or denied (administrators:
/// any). Every change is a CHANNEL_UPDATE carrying the whole list, which is what the edges'
/// fan-out follows to decide who sees the channel's events.
///
/// A shared channel has one copy per workspace it is in (the home's row, each replica's row):
/// each workspace sets the overwrites of its own copy for its own roles and members, and its
/// own cell enforces them. The home admits writes the other cell checked with @everyone's
/// default permissions (CellDomain+SharedChannels).
extension CellDomain {
    /// `PUT /channels/{id}/permissions/{overwrite}`.
    public func putOverwrite(_ channelID: Snowflake, targetID: Snowflake, _ request: OverwriteRequest, caller: Caller) async throws {
        try Validation.validate(request)
        let access = try await requireChannel(channelID, caller: caller, needs: [.viewChannel, .manageRoles])
        let overwrite = request.overwrite(id: targetID)
        try checkGrantable(overwrite.named, in: access)
        try await requireTarget(overwrite, in: access.channel.guild_id)
        try await changeOverwrites(of: channelID, target: targetID, by: caller.userID) { overwrites in
            if let index = overwrites.firstIndex(where: { $0.id == targetID }) {
                overwrites[index] = overwrite
            } else {
                guard overwrites.count < Limits.overwritesPerChannel else {
                    throw APIError.invalidForm(.single(["permission_overwrites"], code: "BASE_TYPE_MAX_LENGTH",
                                                       message: "Must be \(Limits.overwritesPerChannel) or fewer in length."))
                }
                overwrites.append(overwrite)
            }
        }
    }

    /// `DELETE /channels/{id}/permissions/{overwrite}`; removing one that is not there changes nothing.
    public func deleteOverwrite(_ channelID: Snowflake, targetID: Snowflake, caller: Caller) async throws {
        let access = try await requireChannel(channelID, caller: caller, needs: [.viewChannel, .manageRoles])
        guard let existing = access.channel.permission_overwrites.first(where: { $0.id == targetID }) else { return }
        try checkGrantable(existing.named, in: access)
        try await changeOverwrites(of: channelID, target: targetID, by: caller.userID) { $0.removeAll { $0.id == targetID } }
    }

    /// The overwrites a channel create or modify body asks for, checked as `PUT` checks one.
    func requestedOverwrites(_ requests: [OverwriteRequest], actor: MemberGrant, in workspace: WorkspaceRoles) async throws -> [ChannelOverwrite] {
        guard requests.isEmpty || PermissionCalculator.base(actor, in: workspace).contains(.manageRoles) else { throw APIError.missingPermissions }
        var overwrites: [ChannelOverwrite] = []
        for request in requests {
            guard let id = request.id else { continue }
            let overwrite = request.overwrite(id: id)
            guard PermissionCalculator.canGrant(overwrite.named, actor: actor, in: workspace) else {
                throw APIError.missingPermissions
            }
            try await requireTarget(overwrite, in: workspace.workspaceID)
            // A second overwrite for the same target replaces the first, as PUT would.
            overwrites.removeAll { $0.id == id }
            overwrites.append(overwrite)
        }
        return overwrites
    }

    private func checkGrantable(_ permissions: Permissions, in access: ChannelAccess) throws {
        guard PermissionCalculator.canGrant(permissions, holding: access.permissions) else { throw APIError.missingPermissions }
    }

    private func requireTarget(_ overwrite: ChannelOverwrite, in guildID: Snowflake) async throws {
        if overwrite.type == ChannelOverwrite.role {
            guard try await db.role(id: overwrite.id, workspaceID: guildID) != nil else { throw APIError.unknownRole }
        } else {
            guard try await db.member(workspaceID: guildID, userID: overwrite.id) != nil else { throw APIError.unknownMember }
        }
    }

    /// Changes a channel's overwrites of `target`, with its event and audit log entry.
    private func changeOverwrites(of channelID: Snowflake, target: Snowflake, by actor: Snowflake,
                                  _ change: @Sendable (inout [ChannelOverwrite]) throws -> Void) async throws {
        try await commit { tx in
            guard var channel = try await tx.lockedChannel(id: channelID) else { throw APIError.unknownChannel }
            let before = channel.permission_overwrites
            try change(&channel.permission_overwrites)
            guard channel.permission_overwrites != before else { return }
            try await tx.updateChannel(channel)
            try await tx.insertEvent(try event("CHANNEL_UPDATE", guild: channel.guild_id, channel: channelID, channel))
            let old = before.first { $0.id == target }, new = channel.permission_overwrites.first { $0.id == target }
            guard let type = (new ?? old)?.type else { return }
            let action: AuditLogAction = old == nil ? .overwriteCreate : new == nil ? .overwriteDelete : .overwriteUpdate
            try await audit(tx, guild: channel.guild_id, action, by: actor, target: channelID,
                            changes: AuditLogChange.between(old, new, keys: ["id", "type", "allow", "deny"]),
                            options: ["id": target.description, "type": String(type)])
        }
    }
}
