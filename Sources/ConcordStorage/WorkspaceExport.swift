import ConcordModels
import Foundation
import PostgresNIO

/// A workspace written to a file and read back into a cell (a backup of one workspace, or a
/// workspace taken to another cluster). The first line describes the export, the last says how
/// many lines came before it, so a cut-off file is refused. Between them, each table's rows: a
/// header line (the table, the row count, the message buckets the rows need, the columns), then
/// that many lines of PostgreSQL's COPY text, a row each (version 2). Version 1 files, still
/// read, had `{header}\t{rows as a JSON array}` on one line instead.
///
/// The export reads one snapshot (a repeatable-read transaction), so it is consistent while the
/// workspace stays in use. It takes what a move takes, under the same conditions (no shared
/// channels, no replicas, nothing archived); attachment files stay in the blob store.
public enum WorkspaceExport {
    public struct Header: Codable, Sendable {
        public var table: String
        public var count: Int
        public var buckets: [Int]?
        public var columns: [String]?
    }

    public struct Description: Codable, Sendable {
        public var concord_workspace_export: Int
        public var workspace: Snowflake
        public var source_cell: Int
        public var exported_at: String
    }

    public struct Summary: Sendable, Encodable {
        public var workspace: Snowflake
        public var tables: [String: Int]
    }

    static let pageSize = 2000

    /// Writes the workspace homed in `db` to `output`, a line at a time; answers rows per table.
    public static func export(_ workspace: Snowflake, from db: Database, cell: Int, to output: FileHandle,
                              progress: @Sendable (Int) -> Void = { _ in }) async throws -> Summary {
        var summary = Summary(workspace: workspace, tables: [:])
        var lines = 0
        func write(_ text: String) throws {
            try output.write(contentsOf: Data((text + "\n").utf8))
            lines += 1
        }
        func write(_ rows: RowExport, buckets: [Int]? = nil) throws {
            guard rows.count > 0 else { return }
            let header = Header(table: rows.table.rawValue, count: rows.count, buckets: buckets, columns: rows.columns)
            try write(try WireJSON.encodeString(header))
            // COPY text ends every row with a newline and writes none inside one (it escapes them).
            try output.write(contentsOf: Data(rows.text.utf8))
            lines += rows.count
            summary.tables[rows.table.rawValue, default: 0] += rows.count
        }
        try await db.transaction { tx in
            try await tx.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            guard try await tx.workspace(id: workspace) != nil else { throw MoveError("no workspace \(workspace) in this cell") }
            let obstacles = try await tx.moveObstacles(workspace)
            guard !obstacles.alreadyMoved else { throw MoveError("workspace \(workspace) has moved away from this cell") }
            guard obstacles.sharedChannels == 0, obstacles.replicaChannels == 0, obstacles.archivedBuckets == 0 else {
                throw MoveError("workspace \(workspace) has shared channels, replicas or archived buckets, which an export cannot take yet")
            }
            try write(try WireJSON.encodeString(Description(concord_workspace_export: 2, workspace: workspace, source_cell: cell,
                                                            exported_at: DiscordTimestamp.string(from: Date()))))
            let channels = try await tx.workspaceChannelIDs(workspace)
            try write(try await tx.exportProfiles(workspace, sourceCell: cell, authorsOf: channels))
            for table in [MovedTable.workspaces, .roles, .channels, .invites, .share_invites, .members, .member_roles, .bans, .audit_log] {
                try write(try await tx.exportWorkspaceRows(table, workspace))
            }
            var cursor = MessageCursor()
            var messages = 0
            while true {
                let (page, next, buckets) = try await tx.exportMessages(channels: channels, after: cursor, limit: pageSize)
                if page.count == 0 { break }
                try write(page, buckets: buckets)
                messages += page.count
                progress(messages)
                cursor = next
            }
            var version = Int64.min
            while true {
                let (page, newest) = try await tx.exportReadStates(channels: channels, after: version, limit: pageSize)
                if page.count == 0 { break }
                try write(page)
                version = newest
            }
            for table in MovedTable.copiedByChannel { try write(try await tx.exportChannelRows(table, channels: channels)) }
        }
        try write(#"{"end":true,"lines":\#(lines)}"#)
        return summary
    }

    /// Reads an export into `db`'s cell in one transaction (all of it or none), and makes it the
    /// workspace's home in every cell's directory (`cells`, this one among them).
    public static func `import`(from url: URL, into db: Database, cell: Int, cells: [Database]) async throws -> Summary {
        let text = try String(contentsOf: url, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard let first = lines.first, let description = try? WireJSON.decode(Description.self, from: Data(first.utf8)),
              [1, 2].contains(description.concord_workspace_export) else { throw MoveError("not a Concord workspace export") }
        struct End: Decodable { var end: Bool; var lines: Int }
        guard let last = lines.popLast(), let end = try? WireJSON.decode(End.self, from: Data(last.utf8)), end.lines == lines.count else {
            throw MoveError("the export is cut off (its last line does not close it)")
        }
        let workspace = description.workspace
        for other in cells where try await other.workspace(id: workspace) != nil {
            throw MoveError("workspace \(workspace) exists in this cluster; delete it before importing it again")
        }
        let batches = try tables(in: lines.dropFirst(), version: description.concord_workspace_export)
        var summary = Summary(workspace: workspace, tables: [:])
        for batch in batches { summary.tables[batch.table.rawValue, default: 0] += batch.count }
        for bucket in Set(batches.flatMap(\.buckets)) { try await db.ensureMessagePartition(bucket: bucket) }
        let version = Int64(Date().timeIntervalSince1970 * 1000)
        let entries = try await db.transaction { tx -> [DirectoryEntry] in
            for batch in batches {
                switch batch.rows {
                case .copy(let rows): try await tx.importRows(rows)
                case .json(let json): try await tx.importRows(batch.table, json: json)
                }
            }
            let channels = try await tx.workspaceChannelIDs(workspace)
            let codes = try await tx.run("""
                SELECT code FROM invites WHERE workspace_id = \(workspace.int64)
                UNION ALL SELECT code FROM share_invites WHERE channel_id = ANY(\(channels))
                """).map { try $0.decode(String.self) }
            let keys = [workspace.description] + channels.map { Snowflake(int64: $0).description } + codes.map(DirectoryEntry.key(invite:))
            let since = try await tx.outboxHead()
            let entries = keys.map { DirectoryEntry(key: $0, workspaceID: workspace, cellID: cell, version: version, sinceSeq: since) }
            try await tx.recordDirectory(entries)
            try await tx.clearMovedAway(workspace)
            return entries
        }
        for other in cells where other !== db { try await other.recordDirectory(entries) }
        // Rows taken in bulk, as a move's: the planner learns of them now (see `analyzeMovedTables`).
        try? await db.analyzeMovedTables()
        return summary
    }

    /// One table's rows as a file carries them.
    struct Batch {
        enum Rows { case copy(RowExport), json(String) }
        var table: MovedTable
        var count: Int
        var buckets: [Int]
        var rows: Rows
    }

    /// The tables' rows between the description and the end line of an export of `version`.
    static func tables(in lines: ArraySlice<Substring>, version: Int) throws -> [Batch] {
        var batches: [Batch] = []
        var rest = lines
        let notRows = MoveError("a line of the export is not a table's rows")
        while let line = rest.popFirst() {
            if version == 1 {
                guard let tab = line.firstIndex(of: "\t"), let header = try? WireJSON.decode(Header.self, from: Data(line[..<tab].utf8)),
                      let table = MovedTable(rawValue: header.table) else { throw notRows }
                batches.append(Batch(table: table, count: header.count, buckets: header.buckets ?? [],
                                     rows: .json(String(line[line.index(after: tab)...]))))
                continue
            }
            guard let header = try? WireJSON.decode(Header.self, from: Data(line.utf8)), let table = MovedTable(rawValue: header.table),
                  let columns = header.columns, header.count > 0, header.count <= rest.count else { throw notRows }
            let text = rest.prefix(header.count).joined(separator: "\n") + "\n"
            rest = rest.dropFirst(header.count)
            batches.append(Batch(table: table, count: header.count, buckets: header.buckets ?? [],
                                 rows: .copy(RowExport(table: table, columns: columns, text: text, count: header.count))))
        }
        return batches
    }
}
