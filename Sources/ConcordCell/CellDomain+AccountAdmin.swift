import ConcordModels
import ConcordStorage
import Foundation

/// What operators do to accounts (through concordctl): deactivate, reactivate, reset a
/// password, and erase a person — each cell erasing what it holds of them.
extension CellDomain {
    /// Why an operator's account action was refused (said to the operator as it is).
    public struct AccountActionRefused: Error, CustomStringConvertible {
        public let description: String
        static func notHere(_ id: Snowflake) -> Self { Self(description: "no account \(id) is homed in this cell") }
    }

    /// No login, every token revoked (edges close their sessions); `false` undoes the first.
    public func setDeactivated(_ id: Snowflake, _ deactivated: Bool) async throws {
        guard try await db.setDeactivated(id, deactivated) else { throw AccountActionRefused.notHere(id) }
        if deactivated { _ = try await revokeTokens(userID: id) }
    }

    /// A new password (made here when none is given, and answered), every token revoked.
    public func resetPassword(_ id: Snowflake, to given: String?) async throws -> String {
        guard let account = try await db.accountSummary(id: id), id.cell == cellID, !account.bot, !account.erased else { throw AccountActionRefused.notHere(id) }
        let password = given ?? Self.newPassword()
        guard (8...72).contains(password.count) else { throw AccountActionRefused(description: "a password is 8 to 72 characters") }
        try await db.setPasswordHash(userID: id, to: try await passwords.hash(password))
        _ = try await revokeTokens(userID: id)
        return password
    }

    private static func newPassword() -> String {
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        return String((0..<20).map { _ in alphabet.randomElement()! })
    }

    /// What a person's erasure found and did in this cell.
    public struct Erasure: Sendable, Encodable {
        public var cell: String
        public var messages_deleted = 0
        public var workspaces_left = 0
        public var profile_erased = false
        public var tokens_revoked = 0
    }

    /// Erases what this cell holds of a person: their messages (deleted as if they deleted each,
    /// so every client and replica hears of it), their memberships, and their profile (the home
    /// copy and any replica become a tombstone: no name, picture, password or login). It waits
    /// while they own a workspace here, until it has another owner or is deleted (as Discord asks
    /// before deleting an account).
    public func erase(_ id: Snowflake) async throws -> Erasure {
        var erasure = Erasure(cell: cellName)
        let owned = try await db.workspaceMemberships(id).owner
        if !owned.isEmpty {
            throw AccountActionRefused(description: "\(id) owns workspaces \(owned.map(\.description).joined(separator: ", ")) in \(cellName): transfer or delete them first")
        }
        // A page at a time by id: what cannot be deleted (no access to its channel any more,
        // gone meanwhile) is passed, never asked for again.
        var after = Snowflake(0)
        while case let batch = try await db.authoredMessages(id, after: after, limit: 500), let last = batch.last {
            after = last.id
            var access: [Snowflake: ChannelAccess?] = [:]
            for (channel, message) in batch {
                if access[channel] == nil { access[channel] = .some(try await db.channelAccess(id: channel, userID: id)) }
                guard let channelAccess = access[channel] ?? nil else { continue }
                do {
                    try await delete(message, in: channelAccess, by: id)
                    erasure.messages_deleted += 1
                } catch let error as APIError where error == .unknownMessage {}
            }
        }
        for workspace in try await db.workspaceMemberships(id).member where try await removeMember(workspace, userID: id) {
            erasure.workspaces_left += 1
        }
        if try await db.user(id: id) != nil {
            if id.cell == cellID { erasure.tokens_revoked = try await revokeTokens(userID: id).count }
            try await db.eraseProfile(id)
            erasure.profile_erased = true
        }
        return erasure
    }
}
