import ArgumentParser
import ConcordModels
import ConcordStorage
import Foundation

extension WorkspaceCommands {
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Writes a workspace (its channels, messages, members, roles, invites, read states…) to a file, from one consistent snapshot.")
        @OptionGroup var options: CellOptions
        @Argument var id: String
        @Option(help: "The file to write (made anew).") var file: String

        func run() async throws {
            let id = try parseID(self.id, "workspace id")
            // Its home: the cell holding it that it has not moved away from.
            for cell in try options.selectedCells() {
                let holds = try await withDatabase(cell) { db in
                    guard try await db.workspace(id: id) != nil else { return false }
                    return try await !db.moveObstacles(id).alreadyMoved
                }
                guard holds else { continue }
                guard FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o600]),
                      let output = FileHandle(forWritingAtPath: file) else { throw Refused("cannot write \(file)") }
                defer { try? output.close() }
                let progress = ProgressLine(json: options.json)
                let summary = try await withDatabase(cell) { db in
                    try await WorkspaceExport.export(id, from: db, cell: cell.id, to: output) { progress.update("exporting messages", done: $0, total: 0) }
                }
                progress.end()
                return try report(options.json, summary) {
                    print("exported workspace \(id) from \(cell.name) to \(file): "
                          + summary.tables.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
                }
            }
            throw Refused("no cell holds workspace \(id)")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reads a workspace export into --cell (all of it or nothing) and makes that cell its home everywhere; the workspace must not exist in the cluster.")
        @OptionGroup var options: CellOptions
        @Option(help: "The export file.") var file: String

        func validate() throws {
            if options.cell == nil { throw ValidationError("name the cell to import into with --cell") }
        }

        func run() async throws {
            let (config, target) = try options.selectedCell()
            let summary = try await withDatabases(config.cells) { dbs in
                guard let db = dbs[target.id] else { throw Refused("no database for \(target.name)") }
                return try await WorkspaceExport.import(from: URL(fileURLWithPath: file), into: db, cell: target.id,
                                                        cells: config.cells.compactMap { dbs[$0.id] })
            }
            for cell in config.cells { await Move.announce(cell) }
            try report(options.json, summary) {
                print("imported workspace \(summary.workspace) into \(target.name): "
                      + summary.tables.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
            }
        }
    }
}
