import ConcordModels
import ConcordStorage
import Foundation

extension CellDomain {
    /// `POST /channels/{id}/messages/bulk-delete` (MANAGE_MESSAGES, workspaces only): 2 to 100
    /// messages under 14 days old, deleted in one transaction with one MESSAGE_DELETE_BULK.
    /// Ids of messages that do not exist are passed over, as Discord does.
    public func bulkDelete(_ channelID: Snowflake, _ request: BulkDeleteRequest, caller: Caller) async throws {
        let access = try await requireChannel(channelID, caller: caller)
        guard access.dmUsers == nil else { throw APIError.dmChannelAction }
        guard access.homeCell == nil else { throw APIError.missingAccess }
        guard access.permissions.contains(.manageMessages) else { throw APIError.missingPermissions }
        var seen = Set<Snowflake>()
        let ids = request.messages.filter { seen.insert($0).inserted }
        let oldest = Date().addingTimeInterval(-Limits.bulkDeleteMaxAgeSeconds)
        guard ids.allSatisfy({ $0.date > oldest }) else { throw APIError.bulkDeleteTooOld }
        try await Self.againIfArchived { try await bulkDeleteOnce(ids, in: access, by: caller.userID) }
    }

    private func bulkDeleteOnce(_ ids: [Snowflake], in access: ChannelAccess, by deleter: Snowflake) async throws {
        let channelID = access.channel.id
        var found: [(record: MessageRecord, archived: ArchivedRow?)] = try await db.messages(channelID: channelID, ids: ids).map { ($0, nil) }
        let warm = Set(found.map(\.record.id))
        for id in ids where !warm.contains(id) {
            if let cold = try await history.message(channelID, id: id) { found.append(cold) }
        }
        guard !found.isEmpty else { return }
        let deleted = found.map(\.record.id).sorted()
        let events = try channelEvents("MESSAGE_DELETE_BULK", access: access,
                                       MessageDeleteBulkPayload(ids: deleted, channelID: channelID, guildID: access.guildID))
        let (changed, released) = try await commit { tx -> ([ReadStateRow], [String]) in
            var changed: [ReadStateRow] = []
            for message in found {
                if message.archived != nil {
                    try await tx.deleteArchived(channelID: channelID, id: message.record.id)
                } else {
                    guard let rows = try await tx.deleteMessage(channelID: channelID, id: message.record.id) else { throw MessageLeftWarmTier() }
                    changed += rows
                }
            }
            let released = try await tx.deleteMessageExtras(channelID: channelID, messageIDs: deleted)
            try await tx.insertEvents(events)
            if let guild = access.guildID {
                try await self.audit(tx, guild: guild, .messageBulkDelete, by: deleter, target: channelID, options: ["count": "\(deleted.count)"])
            }
            return (changed, released)
        }
        await releaseBlobs(released)
        await hot.invalidate(channelID)
        await counters.apply(changed)
        for message in found where message.record.mentionEveryone {
            await counters.massMention(channel: channelID, message: message.record.id, present: false)
        }
    }
}
