import ConcordModels
import ConcordStorage
import Synchronization

/// The channel accesses of recent plain sends, so the next send by the same user to the same
/// channel need not read the channel, workspace, roles and membership again. A kept access is
/// only ever written with its versions (`MessageWrite.checkedAt`): the insert itself refuses it
/// once the workspace or the user changed, and the send is then checked with a fresh read.
/// Only workspace channels homed in this cell are kept (a replica's write is checked here and
/// made elsewhere, where no version guards it).
final class AccessCache: Sendable {
    private struct Key: Hashable {
        let channel: Snowflake
        let user: Snowflake
    }

    private let entries = Mutex<[Key: ChannelAccess]>([:])
    /// Each entry holds its workspace's roles: the bound is on memory as much as on senders.
    private let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    func access(channel: Snowflake, user: Snowflake) -> ChannelAccess? {
        entries.withLock { $0[Key(channel: channel, user: user)] }
    }

    func keep(_ access: ChannelAccess, user: Snowflake) {
        guard access.versions != nil, access.dmUsers == nil, access.homeCell == nil else { return }
        entries.withLock { entries in
            // Full: start over rather than track recency on every send; the active pairs come
            // back with their next sends.
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[Key(channel: access.channel.id, user: user)] = access
        }
    }

    func forget(channel: Snowflake, user: Snowflake) {
        _ = entries.withLock { $0.removeValue(forKey: Key(channel: channel, user: user)) }
    }
}
