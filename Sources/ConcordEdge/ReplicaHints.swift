import ConcordModels
import Synchronization

/// What the edge has learnt of where a channel of another cell is served for the people of a
/// cell: by their own cell's replica (the channel is shared into one of its workspaces), or only
/// at the channel's home. With it, a request goes to the right cell in one hop; without it (the
/// first time, or after `capacity` channels), the caller's cell is asked first.
final class ReplicaHints: Sendable {
    struct Key: Hashable { var channel: Snowflake; var cell: Int }
    private let known = Mutex<[Key: Bool]>([:])
    let capacity: Int

    init(capacity: Int = 100_000) { self.capacity = capacity }

    /// true: the caller's cell serves it; false: only its home does; nil: not known yet.
    func servedLocally(_ channel: Snowflake, for cell: Int) -> Bool? {
        known.withLock { $0[Key(channel: channel, cell: cell)] }
    }

    func record(_ channel: Snowflake, for cell: Int, servedLocally: Bool) {
        known.withLock { known in
            // Bounded: past its capacity it starts again (each channel costs one extra hop once more).
            if known.count >= capacity { known.removeAll(keepingCapacity: true) }
            known[Key(channel: channel, cell: cell)] = servedLocally
        }
    }
}
