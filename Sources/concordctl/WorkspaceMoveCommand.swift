import ArgumentParser
import ConcordModels
import ConcordRedis
import ConcordStorage
import ConcordTiering
import Foundation

extension WorkspaceCommands {
    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Moves a workspace to another cell while it stays in use (copy, catch up, a brief write freeze, switch, remove the old copy).")
        @OptionGroup var options: CellOptions
        @Argument var workspace: String
        @Option(help: "The cell to move it to.") var to: String
        @Flag(help: "Keep the old cell's copy (it takes no writes either way).") var keepSource = false

        func run() async throws {
            let workspace = try parseID(self.workspace, "workspace id")
            let config = try ClusterConfig.load(path: options.config)
            guard let destination = config.cell(named: to) else { throw ValidationError("no cell named \(to)") }
            let json = options.json
            let outcome = try await withDatabases(config.cells) { databases -> WorkspaceMove.Report in
                // Where it lives now: its id's cell, unless that cell's directory says it moved.
                guard let idCell = databases[workspace.cell] else { throw ValidationError("cell \(workspace.cell) of workspace \(workspace) is not in the config") }
                let entry = try await idCell.directoryEntries().last { $0.key == workspace.description }
                let home = entry?.cell_id ?? workspace.cell
                guard let sourceDB = databases[home], let destinationDB = databases[destination.id],
                      let sourceCell = config.cell(id: home) else { throw ValidationError("cell \(home) is not in the config") }
                // Each cell's blob store as this command reaches it: an object store, or a
                // directory on this host (or a shared volume).
                let keys = ClusterSecrets.objectStoreKeys()
                let (from, into) = (try CellStores.blobs(of: sourceCell, keys: keys), try CellStores.blobs(of: destination, keys: keys))
                let move = WorkspaceMove(workspace: workspace, from: .init(id: home, db: sourceDB), to: .init(id: destination.id, db: destinationDB),
                                         others: databases.filter { $0.key != home && $0.key != destination.id }.map { .init(id: $0.key, db: $0.value) },
                                         log: { phase in
                                             if json { try? report(true, ["progress": "workspace move", "phase": phase]) {} } else { print(phase) }
                                         },
                                         copyBlobs: { names in
                                             for name in names where try await !into.exists(name) { try await into.put(try await from.get(name), name: name) }
                                         })
                return try await move.run(removeOldCopy: !keepSource) { cellID in
                    await Self.announce(config.cells.first { $0.id == cellID })
                }
            }
            if options.json { return try report(true, MoveSummary(outcome)) {} }
            printTable(["messages", "read states", "members", "channels", "catch-up passes", "freeze ms", "total ms", "old copy"],
                       [[String(outcome.copiedMessages), String(outcome.copiedReadStates), String(outcome.members), String(outcome.channels),
                         String(outcome.catchUpPasses), String(format: "%.1f", outcome.freezeMilliseconds), String(format: "%.0f", outcome.totalMilliseconds),
                         outcome.removedOldCopy ? "removed" : "kept"]])
        }

        /// Tells the edges following the cell's Redis that the directory changed (they also reload
        /// it every few seconds and on any 421, so a cell whose Redis is down is not fatal).
        static func announce(_ cell: ClusterConfig.Cell?) async {
            guard let cell, let redis = try? cellRedis(cell) else { return }
            _ = try? await redis.send("PUBLISH", Topics.directory(cell: cell.name), "moved")
            await redis.close()
        }
    }
}

struct MoveSummary: Encodable {
    var copied_messages: Int
    var copied_read_states: Int
    var caught_up_messages: Int
    var catch_up_passes: Int
    var members: Int
    var channels: Int
    var freeze_ms: Double
    var total_ms: Double
    var old_copy_removed: Bool

    init(_ r: WorkspaceMove.Report) {
        copied_messages = r.copiedMessages
        copied_read_states = r.copiedReadStates
        caught_up_messages = r.caughtUpMessages
        catch_up_passes = r.catchUpPasses
        members = r.members
        channels = r.channels
        freeze_ms = r.freezeMilliseconds
        total_ms = r.totalMilliseconds
        old_copy_removed = r.removedOldCopy
    }
}
