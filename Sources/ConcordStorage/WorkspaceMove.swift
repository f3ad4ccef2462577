import ConcordModels
import Foundation
import PostgresNIO

public struct MoveError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Moves a workspace from its home cell to another while it stays in use:
///
/// 1. copy: profiles, the workspace, channels, invites, share invites, read states, mass mentions and
///    messages go to the destination, which refuses the workspace's writes until the switch
///    (members wait for the freeze, so nobody sees the workspace there before it is switched);
/// 2. catch up: what the source's outbox says changed since the copy began is copied again,
///    pass after pass while the passes shrink;
/// 3. freeze: the workspace's advisory lock in the source, taken exclusively, waits for writes
///    in flight and holds back new ones (their outbox trigger waits for it, as do the triggers on
///    invites, share invites and read states, which make no outbox row);
/// 4. the last changes, the small tables and the members are copied, and both copies are
///    compared: the messages no change has touched since the last pass were compared before the
///    freeze (a snapshot of the source against the copy), so the freeze compares only those the
///    last pass left (and new channels' whole), the channels, and counts of members, read
///    states and invites;
/// 5. switch: the directory names the destination in every cell and the source refuses the
///    workspace's writes (answered 421, so edges retry at the new home); the lock is released;
/// 6. the source's copy is removed.
///
/// Each copy replaces rows by key, so a move that fails or is interrupted before the switch
/// leaves the source as it was and can be run again.
public struct WorkspaceMove: Sendable {
    public struct Cell: Sendable {
        public var id: Int
        public var db: Database
        public init(id: Int, db: Database) { self.id = id; self.db = db }
    }

    public struct Report: Sendable {
        public var copiedMessages = 0
        public var copiedReadStates = 0
        public var catchUpPasses = 0
        public var caughtUpMessages = 0
        public var freezeMilliseconds = 0.0
        public var totalMilliseconds = 0.0
        public var channels = 0
        public var members = 0
        public var removedOldCopy = false
    }

    /// The phases a move passes through, as its source cell's move log names them.
    public static let phases = ["copy", "catch-up", "freeze", "remove-old-copy", "done", "failed"]

    let workspace: Snowflake
    let source: Cell
    let destination: Cell
    let others: [Cell]
    let pageSize: Int
    let log: @Sendable (String) -> Void
    /// Copies the named attachment blobs from the source's blob store to the destination's,
    /// leaving those it already has (the stores are not this module's: the caller has them).
    let copyBlobs: @Sendable ([String]) async throws -> Void

    public init(workspace: Snowflake, from source: Cell, to destination: Cell, others: [Cell], pageSize: Int = 2000,
                log: @escaping @Sendable (String) -> Void = { _ in },
                copyBlobs: @escaping @Sendable ([String]) async throws -> Void = { _ in }) {
        self.workspace = workspace
        self.source = source
        self.destination = destination
        self.others = others
        self.pageSize = pageSize
        self.log = log
        self.copyBlobs = copyBlobs
    }

    /// Runs the move; `announce` is called for each cell after the directory changed there.
    /// - Parameter settle: the wait between the switch and removing the old copy, so the old
    ///   cell has noticed the directory change (cells look every second) before reads
    ///   of the workspace there find its rows going.
    public func run(removeOldCopy: Bool = true, settle: Duration = .seconds(2), announce: @Sendable (Int) async -> Void = { _ in }) async throws -> Report {
        let started = ContinuousClock.now
        var report = Report()
        try await checkMovable()
        // The phases go to the source cell's move log for its metrics; a move never fails for it.
        let logID = try? await source.db.logMoveStarted(workspace, destination: destination.id)
        func phase(_ name: String, freeze: Double? = nil, total: Double? = nil) async {
            if let logID { try? await source.db.logMovePhase(logID, name, freezeMilliseconds: freeze, totalMilliseconds: total) }
        }
        let channels = try await source.db.workspaceChannelIDs(workspace)
        var position = try await source.db.outboxHead()
        var readStateVersion = Int64.min
        do {
            // The destination takes no writes for the workspace until the switch (an edge may
            // ask a member's own cell first): its outbox trigger refuses them, so they go to the home.
            try await destination.db.markMovedAway(workspace, to: source.id)
            // 1. Copy.
            try await copy(try await source.db.exportProfiles(workspace, sourceCell: source.id, authorsOf: channels))
            for table in [MovedTable.workspaces, .roles, .channels, .invites, .share_invites] {
                try await copy(try await source.db.exportWorkspaceRows(table, workspace))
            }
            report.copiedReadStates = try await copyReadStates(channels: channels, after: &readStateVersion)
            try await copy(try await source.db.exportChannelRows(.mass_mentions, channels: channels))
            report.copiedMessages = try await copyMessages(of: channels)
            // Files before the freeze; the freeze copies only those uploaded since.
            try await copyBlobs(try await source.db.attachmentBlobs(channels: channels))
            log("copied \(report.copiedMessages) messages and \(report.copiedReadStates) read states")

            // 2. Catch up while the passes shrink.
            await phase("catch-up")
            // Each pass takes less time than the last, so fewer writes come in during it; what
            // the last pass leaves is what the freeze has to copy while writes wait.
            for _ in 0..<10 {
                let head = try await source.db.outboxHead()
                let changed = try await catchUp(channels: channels, after: position, through: head, readStates: &readStateVersion).count
                position = head
                report.catchUpPasses += 1
                report.caughtUpMessages += changed
                if changed < 50 { break }
            }

            try await compareSettledMessages(channels: channels, position: position)

            // 3–5. Freeze, finish, compare, switch.
            await phase("freeze")
            let frozen = try await frozen(channels: channels, position: position, readStates: readStateVersion, report: &report, announce: announce)
            report.freezeMilliseconds = frozen
        } catch {
            // Before the source refused the workspace's writes it is still the home: the partial
            // copy goes, and a directory entry already written for the destination is taken back.
            if try await source.db.moveObstacles(workspace).alreadyMoved == false {
                try? await destination.db.removeWorkspaceCopy(workspace)
                let version = Int64(Date().timeIntervalSince1970 * 1000) + 1
                try? await destination.db.reassertHome(workspace, cell: source.id, version: version)
                await announce(destination.id)
            }
            await phase("failed")
            throw error
        }
        report.channels = channels.count
        // The new home took the workspace's rows in bulk: its planner learns of them now (see
        // there). Statistics are an optimization: a failure here fails nothing.
        try? await destination.db.analyzeMovedTables()
        // 6. The old copy goes once the new home holds everything.
        if removeOldCopy {
            await phase("remove-old-copy", freeze: report.freezeMilliseconds)
            try await Task.sleep(for: settle)
            try await source.db.removeWorkspaceCopy(workspace)
            try await source.db.markOldCopyRemoved(workspace)
            report.removedOldCopy = true
        }
        report.totalMilliseconds = Self.milliseconds(ContinuousClock.now - started)
        await phase("done", freeze: report.freezeMilliseconds, total: report.totalMilliseconds)
        return report
    }

    func checkMovable() async throws {
        guard source.id != destination.id else { throw MoveError("the workspace is already homed in cell \(source.id)") }
        guard try await source.db.workspace(id: workspace) != nil else { throw MoveError("no workspace \(workspace) in cell \(source.id)") }
        let obstacles = try await source.db.moveObstacles(workspace)
        if obstacles.alreadyMoved { throw MoveError("workspace \(workspace) has already moved out of cell \(source.id)") }
        if obstacles.sharedChannels > 0 || obstacles.replicaChannels > 0 {
            throw MoveError("workspace \(workspace) has shared channels (\(obstacles.sharedChannels) shared out, \(obstacles.replicaChannels) shared in); unshare them before moving it")
        }
        if obstacles.archivedBuckets > 0 {
            throw MoveError("workspace \(workspace) has \(obstacles.archivedBuckets) archived buckets; restore them (concordctl tier restore) before moving it")
        }
    }

    private func copy(_ rows: RowExport) async throws {
        try await destination.db.transaction { try await $0.importRows(rows) }
    }

    /// Copies every message of the channels, a keyset page at a time; answers how many.
    @discardableResult
    private func copyMessages(of channels: [Int64]) async throws -> Int {
        guard !channels.isEmpty else { return 0 }
        var cursor = MessageCursor()
        var copied = 0
        while true {
            let (page, next, buckets) = try await source.db.exportMessages(channels: channels, after: cursor, limit: pageSize)
            if page.count == 0 { return copied }
            for bucket in buckets { try await destination.db.ensureMessagePartition(bucket: bucket) }
            try await copy(page)
            copied += page.count
            cursor = next
        }
    }

    private func copyReadStates(channels: [Int64], after version: inout Int64) async throws -> Int {
        var copied = 0
        while true {
            let (page, newest) = try await source.db.exportReadStates(channels: channels, after: version, limit: pageSize)
            if page.count == 0 { return copied }
            try await copy(page)
            copied += page.count
            version = newest
        }
    }

    /// Copies again what outbox events in `(after, through]` changed; answers those messages.
    /// - Parameter tables: whether the workspace's small tables are copied again too (the
    ///   freeze copies them itself).
    private func catchUp(channels: [Int64], after: Int64, through: Int64, unsequenced: Bool = false, tables: Bool = true,
                         readStates version: inout Int64) async throws -> [Int64] {
        let touched = try await source.db.touchedMessages(channels: channels, after: after, through: through, unsequenced: unsequenced)
        for start in stride(from: 0, to: touched.count, by: pageSize) {
            let ids = Array(touched[start..<min(start + pageSize, touched.count)])
            async let authors = source.db.exportAuthors(sourceCell: source.id, channels: channels, messageIDs: ids)
            let (rows, buckets, present) = try await source.db.exportMessages(channels: channels, ids: ids)
            for bucket in buckets { try await destination.db.ensureMessagePartition(bucket: bucket) }
            let profiles = try await authors
            try await destination.db.transaction { tx in
                try await tx.importRows(profiles)
                try await tx.importRows(rows)
                // What the source no longer has was deleted there.
                try await tx.deleteMessages(channels: channels, ids: ids.filter { !present.contains($0) })
            }
        }
        if tables {
            for table in [MovedTable.workspaces, .roles, .channels, .invites, .share_invites] {
                try await copy(try await source.db.exportWorkspaceRows(table, workspace))
            }
        }
        _ = try await copyReadStates(channels: channels, after: &version)
        return touched
    }

    /// The freeze: answers how long the workspace's writes were held back, in milliseconds.
    private func frozen(channels copied: [Int64], position: Int64, readStates: Int64, report: inout Report,
                        announce: @Sendable (Int) async -> Void) async throws -> Double {
        var version = readStates
        var laps = Laps()
        let (frozenFor, members) = try await source.db.withConnection { lock in
            try await lock.query("SELECT pg_advisory_lock(\(workspace.int64))", logger: source.db.logger).collect()
            let frozenAt = ContinuousClock.now
            laps = Laps(from: frozenAt)
            do {
                // Channels created since the copy began belong to the workspace too: their
                // messages are copied whole (the passes only looked at the first channels).
                let channels = try await source.db.workspaceChannelIDs(workspace)
                // The source holds still now, so its small tables are read while the last
                // messages are copied.
                async let finalRows = finalTables(channels: channels)
                let added = channels.filter { !copied.contains($0) }
                if !added.isEmpty { try await copy(try await source.db.exportProfiles(workspace, sourceCell: source.id, authorsOf: added)) }
                try await copyMessages(of: added)
                var fromStart = Int64.min
                _ = try await copyReadStates(channels: added, after: &fromStart)
                // Every write that got in before the lock has committed, but the source's
                // sequencer may not have numbered its outbox rows yet (and cannot be waited for: it
                // may itself wait for a row lock held by a write the freeze holds back), so
                // unnumbered rows count as changes too, and their messages are numbered here.
                // Nothing about the workspace commits any more, so everything after the last
                // pass is final (a bound would race the sequencer numbering rows meanwhile).
                let last = try await catchUp(channels: channels, after: position, through: .max, unsequenced: true, tables: false,
                                             readStates: &version)
                laps.mark("catch-up of \(last.count) messages")
                let tables = try await finalRows
                try await destination.db.transaction { tx in
                    try await tx.dropRowsMissingFromSource(workspace, channels: channels)
                    for rows in tables { try await tx.importRows(rows) }
                    try await tx.numberUnsequencedMessages(channels: channels, among: last)
                }
                laps.mark("tables")
                try await copyBlobs(try await source.db.attachmentBlobs(channels: channels))
                laps.mark("files")
                // The rest of the messages were compared before the freeze, and nothing has
                // changed them since (a change would be among the last pass's).
                @Sendable func digests(_ db: Database) async throws -> [String] {
                    try await db.messageDigests(channels: channels.filter(copied.contains), .only(last))
                        + db.messageDigests(channels: added, .all) + [db.workspaceCounts(workspace, channels: channels)]
                }
                async let sourcePrint = digests(source.db)
                async let destinationPrint = digests(destination.db)
                let (here, there) = (try await sourcePrint, try await destinationPrint)
                try Self.requireSame(here, there)
                laps.mark("compare")
                let members = try await destination.db.run("SELECT count(*)::int FROM members WHERE workspace_id = \(workspace.int64)").first?.decode(Int.self) ?? 0
                try await switchHome(channels: channels)
                laps.mark("switch")
                try await lock.query("SELECT pg_advisory_unlock(\(workspace.int64))", logger: source.db.logger).collect()
                return (Self.milliseconds(ContinuousClock.now - frozenAt), members)
            } catch {
                _ = try? await lock.query("SELECT pg_advisory_unlock(\(workspace.int64))", logger: source.db.logger).collect()
                throw error
            }
        }
        report.members = members
        log("froze writes for \(String(format: "%.1f", frozenFor)) ms (\(laps))")
        for cell in others {
            do { try await cell.db.recordDirectory(try await destination.db.directoryEntries(after: 0).filter { $0.workspace_id == workspace }) } catch {
                log("cell \(cell.id) could not take the new directory entries yet (\(error)); it learns them on the next move or from a rerun")
            }
        }
        for cell in [source.id, destination.id] + others.map(\.id) { await announce(cell) }
        return frozenFor
    }

    /// Compares the messages of a snapshot of the source that no change after `position` has
    /// touched with their copies, which only the freeze writes again (and only those touched).
    private func compareSettledMessages(channels: [Int64], position: Int64) async throws {
        let (here, unsettled) = try await source.db.transaction { tx in
            try await tx.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            let unsettled = try await tx.touchedMessages(channels: channels, after: position, through: .max, unsequenced: true)
            return (try await tx.messageDigests(channels: channels, .except(unsettled)), unsettled)
        }
        let there = try await destination.db.messageDigests(channels: channels, .except(unsettled))
        try Self.requireSame(here, there)
    }

    /// Abandons the move where the source's digests and the copy's differ.
    static func requireSame(_ here: [String], _ there: [String]) throws {
        guard here == there else {
            throw MoveError("the copy differs from the source (\(Set(here).symmetricDifference(there).sorted().prefix(4))); the move was abandoned")
        }
    }

    /// What the freeze copies whole, read from the source at once (each read is small; the
    /// freeze waits on their round trips), in the order the destination must write them.
    private func finalTables(channels: [Int64]) async throws -> [RowExport] {
        let workspaceTables: [MovedTable] = [.workspaces, .roles, .channels, .invites, .share_invites, .members, .member_roles, .bans, .audit_log]
        let db = source.db, workspace = workspace, sourceCell = source.id
        return try await withThrowingTaskGroup(of: (Int, RowExport).self) { group in
            group.addTask { (0, try await db.exportProfiles(workspace, sourceCell: sourceCell, authorsOf: [])) }
            for (index, table) in workspaceTables.enumerated() {
                group.addTask { (1 + index, try await db.exportWorkspaceRows(table, workspace)) }
            }
            for (index, table) in MovedTable.copiedByChannel.enumerated() {
                group.addTask { (1 + workspaceTables.count + index, try await db.exportChannelRows(table, channels: channels)) }
            }
            var exports: [(Int, RowExport)] = []
            for try await export in group { exports.append(export) }
            return exports.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// The destination first (it is ready), then the source in one transaction with its refusal
    /// of further writes; the other cells follow after the freeze.
    private func switchHome(channels: [Int64]) async throws {
        let version = Int64(Date().timeIntervalSince1970 * 1000)
        let since = try await destination.db.outboxHead()
        let codes = try await destination.db.run("""
            SELECT code FROM invites WHERE workspace_id = \(workspace.int64)
            UNION ALL SELECT code FROM share_invites WHERE channel_id = ANY(\(channels))
            """).map { try $0.decode(String.self) }
        let keys = [workspace.description] + channels.map { Snowflake(int64: $0).description } + codes.map(DirectoryEntry.key(invite:))
        let entries = keys.map { DirectoryEntry(key: $0, workspaceID: workspace, cellID: destination.id, version: version, sinceSeq: since) }
        try await destination.db.transaction { tx in
            try await tx.recordDirectory(entries)
            try await tx.clearMovedAway(workspace)
        }
        try await source.db.transaction { tx in
            try await tx.markMovedAway(workspace, to: destination.id)
            try await tx.recordDirectory(entries)
        }
    }

    /// How long each step of the freeze took, for the move's log.
    struct Laps: CustomStringConvertible {
        private var last = ContinuousClock.now
        private var steps: [(String, Double)] = []
        init(from start: ContinuousClock.Instant = .now) { last = start }
        mutating func mark(_ step: String) {
            let now = ContinuousClock.now
            steps.append((step, WorkspaceMove.milliseconds(now - last)))
            last = now
        }
        var description: String { steps.map { "\($0.0) \(String(format: "%.1f", $0.1)) ms" }.joined(separator: ", ") }
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
