import ConcordModels
import Foundation
import Synchronization

/// Keeps the users with live sessions on this edge online in their home cells. Heartbeats are
/// not forwarded one by one: every third of the TTL the edge refreshes all its users' expiry
/// times in one Redis pipeline per cell. A user's first session here, a status change, or a
/// refresh that finds the presence gone is reported to the cell, which decides (atomically,
/// across edges) whether that is a change anyone must hear about.
final class PresenceReporter: Sendable {
    private struct Entry {
        var sessions: Int
        var state: PresenceState
    }

    let ttl: Double
    private let users = Mutex<[Snowflake: Entry]>([:])
    /// Sends a report to the user's home cell.
    private let report: @Sendable (PresenceReport) async -> Void
    /// Pushes the expiry of these users in one cell; answers the users whose presence was gone.
    private let refresh: @Sendable (_ cell: Int, _ users: [Snowflake], _ expiresAt: Int64) async -> [Snowflake]

    init(ttl: Double, report: @escaping @Sendable (PresenceReport) async -> Void,
         refresh: @escaping @Sendable (Int, [Snowflake], Int64) async -> [Snowflake]) {
        self.ttl = ttl
        self.report = report
        self.refresh = refresh
    }

    var expiresAt: Int64 { Int64((Date().timeIntervalSince1970 + ttl) * 1000) }

    func sessionStarted(_ user: Snowflake, state: PresenceState) async {
        let changed = users.withLock { users -> Bool in
            var entry = users[user] ?? Entry(sessions: 0, state: state)
            let changed = entry.sessions == 0 || entry.state != state
            entry.sessions += 1
            entry.state = state
            users[user] = entry
            return changed
        }
        if changed { await report(PresenceReport(userID: user, state: state, expiresAt: expiresAt)) }
    }

    func statusChanged(_ user: Snowflake, state: PresenceState) async {
        let changed = users.withLock { users -> Bool in
            guard var entry = users[user], entry.state != state else { return false }
            entry.state = state
            users[user] = entry
            return true
        }
        if changed { await report(PresenceReport(userID: user, state: state, expiresAt: expiresAt)) }
    }

    /// The session's socket is gone. When it was the user's last here, this edge stops
    /// refreshing them and the presence lapses at its expiry unless another edge refreshes it.
    func sessionEnded(_ user: Snowflake) {
        users.withLock { users in
            guard var entry = users[user] else { return }
            entry.sessions -= 1
            users[user] = entry.sessions > 0 ? entry : nil
        }
    }

    func state(of user: Snowflake) -> PresenceState? { users.withLock { $0[user]?.state } }

    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int(ttl * 1000 / 3)))
            await refreshAll()
        }
    }

    func refreshAll() async {
        let byCell = Dictionary(grouping: users.withLock { Array($0.keys) }, by: \.cell)
        let expiry = expiresAt
        for (cell, members) in byCell {
            for user in await refresh(cell, members, expiry) {
                if let state = state(of: user) { await report(PresenceReport(userID: user, state: state, expiresAt: expiry)) }
            }
        }
    }
}
