import ConcordModels
import ConcordStorage
import Foundation

extension CellDomain {
    public func createInvite(_ channelID: Snowflake, _ request: InviteCreateRequest, caller: Caller) async throws -> Invite {
        try Validation.validate(request)
        let access = try await requireChannel(channelID, caller: caller, needs: [.viewChannel, .createInstantInvite])
        guard let workspace = try await db.workspace(id: access.channel.guild_id) else { throw APIError.unknownGuild }
        let maxAge = request.max_age ?? 86_400
        let now = Date()
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5 {
            let record = InviteRecord(code: InviteCode.make(cell: cellID, using: &rng), workspaceID: workspace.id,
                                      channelID: channelID, inviterID: caller.userID, maxAge: maxAge,
                                      maxUses: request.max_uses ?? 0, uses: 0, temporary: request.temporary ?? false,
                                      createdAt: now, expiresAt: maxAge == 0 ? nil : now.addingTimeInterval(Double(maxAge)))
            let inserted = try await commit { tx in
                guard try await tx.insertInvite(record) else { return false }
                try await audit(tx, guild: workspace.id, .inviteCreate, by: caller.userID, target: nil, changes: [
                    AuditLogChange("code", new: .string(record.code)), AuditLogChange("channel_id", new: .string(channelID.description)),
                    AuditLogChange("max_age", new: .int(Int64(record.maxAge))), AuditLogChange("max_uses", new: .int(Int64(record.maxUses))),
                ])
                return true
            }
            if inserted {
                return Presenter.invite(record, workspace: workspace, channel: access.channel, inviter: access.user)
            }
        }
        throw APIError.internalError
    }

    public func invite(_ code: String) async throws -> Invite {
        guard let record = try await db.invite(code: code) else { throw APIError.unknownInvite }
        return try await present(record)
    }

    /// Joins the invite's workspace; joining one you are already in uses nothing and succeeds.
    public func acceptInvite(_ code: String, caller: Caller) async throws -> Invite {
        guard let record = try await db.invite(code: code) else { throw APIError.unknownInvite }
        if try await db.member(workspaceID: record.workspaceID, userID: caller.userID) != nil {
            return try await present(record)
        }
        guard !caller.isBot else { throw APIError.botsCannotUse }
        guard try await !db.isBanned(workspaceID: record.workspaceID, userID: caller.userID) else { throw APIError.bannedFromGuild }
        if caller.userID.cell != cellID, try await db.user(id: caller.userID) == nil { throw APIError.profileNotHere }
        guard let used = try await db.useInvite(code: code) else { throw APIError.unknownInvite }
        _ = try await addMember(used.workspaceID, userID: caller.userID)
        return try await present(used)
    }

    private func present(_ record: InviteRecord) async throws -> Invite {
        guard let workspace = try await db.workspace(id: record.workspaceID) else { throw APIError.unknownInvite }
        guard let channel = try await db.channel(id: record.channelID) else { throw APIError.unknownInvite }
        return Presenter.invite(record, workspace: workspace, channel: channel, inviter: try await db.user(id: record.inviterID))
    }
}
