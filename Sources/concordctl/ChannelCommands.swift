import ArgumentParser
import ConcordCell
import ConcordModels
import ConcordStorage
import Foundation
import Synchronization

struct ChannelCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "channel", abstract: "Channels.", subcommands: [Share.self])

    struct Share: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Shares a channel into a workspace homed in another cell (its members read and write it there).")
        @OptionGroup var options: CellOptions
        @Argument(help: "The channel id.") var channel: String
        @Option(help: "The workspace id to share it into.") var into: String

        func run() async throws {
            let (channelID, workspaceID) = (try parseID(channel, "channel"), try parseID(into, "--into"))
            let config = try ClusterConfig.load(path: options.config)
            guard let home = config.cells.first(where: { $0.id == channelID.cell }),
                  let idCell = config.cells.first(where: { $0.id == workspaceID.cell }) else {
                throw ValidationError("the channel's or the workspace's cell is not in \(options.config)")
            }
            // The workspace lives in its id's cell unless that cell's directory says it moved.
            let moved = try await withDatabase(idCell) { try await $0.directoryEntries().last { $0.key == workspaceID.description } }
            guard let destination = config.cells.first(where: { $0.id == moved?.cell_id ?? idCell.id }) else {
                throw ValidationError("cell \(moved?.cell_id ?? 0) is not in \(options.config)")
            }
            guard home.id != destination.id else { throw ValidationError("the workspace is in the channel's own cell: nothing to share across") }
            // The share is recorded first, so everything after it reaches the relay; the history
            // copied after it overlaps what the relay brings, and applying twice changes nothing.
            let copied = try await withDatabase(home) { db -> Int in
                guard let found = try await db.channel(id: channelID), try await db.replicaHome(channelID: channelID) == nil else {
                    throw ValidationError("no channel \(channelID) homed in \(home.name)")
                }
                try await db.shareChannel(channelID, into: workspaceID, cell: destination.id)
                let progress = ProgressLine(json: options.json)
                let fetched = Mutex(0)
                defer { progress.end() }
                return try await withDomain(cell: destination) { domain in
                    try await domain.refreshDirectory()
                    return try await domain.acceptShare(found, homeCell: home.id, into: workspaceID) { before in
                        let page = try await db.messages(channelID: channelID, page: before.map(HistoryPage.before) ?? .latest, limit: CellDomain.sharedHistoryPage)
                        let sofar = fetched.withLock { $0 += page.count; return $0 }
                        progress.update("copying history", done: sofar, total: 0, "messages")
                        return page
                    }.copied
                }
            }
            try report(options.json, JSONValue.object(["channel": .string(channelID.description), "home": .string(home.name),
                                                       "workspace": .string(workspaceID.description), "destination": .string(destination.name),
                                                       "copied_messages": .int(Int64(copied))])) {
                print("channel \(channelID) (\(home.name)) shared into workspace \(workspaceID) (\(destination.name)) with \(copied) message(s); "
                      + "the relay into \(destination.name) (`concord relay --name \(destination.name)`) keeps it current")
            }
        }
    }
}
