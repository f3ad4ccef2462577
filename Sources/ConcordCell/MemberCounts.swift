import ConcordModels
import Synchronization

/// Workspaces' member counts by the access version they were counted at. Every READY batch
/// shows each of its workspaces' counts; counting ten thousand members was a millisecond of the
/// database's CPU a batch while a large workspace's members came back online, and the count
/// cannot have changed while the version has not (a member's insert or delete moves it, in
/// the same transaction).
final class MemberCounts: Sendable {
    private let entries = Mutex<[Snowflake: (version: Int64, count: Int)]>([:])
    private let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// The count at `version`, from `count` unless kept at that version.
    func count(of workspace: Snowflake, at version: Int64?, _ count: () async throws -> Int) async throws -> Int {
        guard let version else { return try await count() }
        if let kept = entries.withLock({ $0[workspace] }), kept.version == version { return kept.count }
        let counted = try await count()
        entries.withLock { entries in
            // Full: start over rather than track recency; the active workspaces come back.
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[workspace] = (version, counted)
        }
        return counted
    }
}
