import Synchronization

/// How many of something (connections, unidentified sockets) each client address holds, up to
/// a limit per address.
public final class AddressCounts: Sendable {
    public let limit: Int
    private let counts = Mutex<[String: Int]>([:])

    public init(limit: Int) { self.limit = limit }

    /// Counts one more for `address`, unless it is at its limit.
    public func admit(_ address: String) -> Bool {
        counts.withLock { counts in
            let count = counts[address, default: 0]
            guard count < limit else { return false }
            counts[address] = count + 1
            return true
        }
    }

    public func release(_ address: String) {
        counts.withLock { counts in
            let count = counts[address, default: 1] - 1
            counts[address] = count > 0 ? count : nil
        }
    }
}
