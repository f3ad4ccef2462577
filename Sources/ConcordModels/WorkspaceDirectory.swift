import Synchronization

/// One directory entry: a moved workspace, one of its channels, or one of its invite codes,
/// and the cell that holds it now.
public struct DirectoryEntry: Codable, Sendable, Equatable {
    public var key: String
    public var workspace_id: Snowflake
    public var cell_id: Int
    /// The move's time in milliseconds: of two entries for one key, the newer wins.
    public var version: Int64
    /// The new home's outbox head when it took over.
    public var since_seq: Int64

    public init(key: String, workspaceID: Snowflake, cellID: Int, version: Int64, sinceSeq: Int64) {
        self.key = key
        workspace_id = workspaceID
        cell_id = cellID
        self.version = version
        since_seq = sinceSeq
    }

    public static func key(invite code: String) -> String { "invite:" + code }
}

/// Where workspaces live: the cell bits of their ids, overridden for moved workspaces by the
/// directory's entries. Lookups are O(1) and local; the entries are reloaded when a cell
/// announces a change, or when a cell answers 421 for something it no longer holds.
public final class WorkspaceDirectory: Sendable {
    private let entries = Mutex<[String: DirectoryEntry]>([:])

    public init() {}

    /// Takes in entries newer than those held; answers the workspaces whose home changed, with
    /// the cell each lived in before.
    @discardableResult
    public func merge(_ incoming: [DirectoryEntry]) -> [(entry: DirectoryEntry, from: Int)] {
        entries.withLock { held in
            var changed: [(entry: DirectoryEntry, from: Int)] = []
            for entry in incoming where entry.version > held[entry.key]?.version ?? Int64.min {
                let before = held[entry.key]?.cell_id ?? entry.workspace_id.cell
                if before != entry.cell_id && entry.key == entry.workspace_id.description { changed.append((entry, before)) }
                held[entry.key] = entry
            }
            return changed
        }
    }

    /// The newest entry's version (0 when nothing has moved).
    public var version: Int64 { entries.withLock { $0.values.map(\.version).max() ?? 0 } }

    public var all: [DirectoryEntry] { entries.withLock { Array($0.values) } }

    /// The cell an explicit entry names for `key`, if any.
    public func entry(_ key: String) -> DirectoryEntry? { entries.withLock { $0[key] } }

    public func home(workspace id: Snowflake) -> Int { entry(id.description)?.cell_id ?? id.cell }
    public func home(channel id: Snowflake) -> Int { entry(id.description)?.cell_id ?? id.cell }

    /// The cell that owns what a route touches: its directory entry, else `Route.ownerCell`.
    public func owner(of route: Route) -> Int? {
        Self.key(of: route).flatMap(entry)?.cell_id ?? route.ownerCell
    }

    /// The directory key of what a route touches (its workspace, channel or invite code).
    static func key(of route: Route) -> String? {
        route.guildID?.description ?? route.channelID?.description ?? route.inviteCode.map(DirectoryEntry.key(invite:))
    }

    /// Of an item that several cells list (a workspace or channel, for the moment a move has both
    /// copies), keeps the copy from the cell that holds it now; items listed once are kept.
    public func keepHomeCopies<T>(_ parts: [(cell: Int, items: [T])], id: (T) -> Snowflake?) -> [(cell: Int, items: [T])] {
        var listedBy: [Snowflake: [Int]] = [:]
        for part in parts { for item in part.items { if let key = id(item) { listedBy[key, default: []].append(part.cell) } } }
        return parts.map { part in
            (part.cell, part.items.filter { item in
                guard let key = id(item), let cells = listedBy[key], cells.count > 1 else { return true }
                let home = self.home(channel: key)
                return cells.contains(home) ? part.cell == home : part.cell == cells[0]
            })
        }
    }

    /// When the directory says a route's workspace has moved from `cell` to another: that cell.
    public func movedAway(_ route: Route, from cell: Int) -> Int? {
        guard let key = Self.key(of: route), let entry = entry(key), entry.cell_id != cell else { return nil }
        return entry.cell_id
    }
}
