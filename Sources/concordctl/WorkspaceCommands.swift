import ArgumentParser
import ConcordCell
import ConcordModels
import Foundation

struct WorkspaceCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "workspace", abstract: "Workspaces (Discord's guilds).",
                                                    subcommands: [Create.self, List.self, Show.self, Move.self, Delete.self, Export.self, Import.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Creates a workspace owned by a user, homed in --cell, or in the cell of --region (default: the owner's) with the fewest workspaces.")
        @OptionGroup var options: CellOptions
        @Argument var name: String
        @Option(help: "The owner's user id.") var owner: String
        @Option(help: "Home it in this region's least loaded cell (ignored with --cell).") var region: String?

        func run() async throws {
            let name = self.name
            let owner = try parseID(self.owner, "--owner")
            let config = try ClusterConfig.load(path: options.config)
            guard let ownerCell = config.cells.first(where: { $0.id == owner.cell }) else { throw ValidationError("the owner's cell is not in the config") }
            let home = try await Self.placement(config, cell: options.cell, region: region ?? ownerCell.region)
            if home.id != ownerCell.id {
                // The owner is homed elsewhere: their profile goes with them, as when they join.
                guard let user = try await withDatabase(ownerCell, { try await $0.user(id: owner) }) else { throw ValidationError("no user \(owner)") }
                try await withDatabase(home) { try await $0.upsertReplica(user) }
            }
            let guild = try await withDomain(cell: home) { try await $0.createWorkspace(GuildCreateRequest(name: name), ownerID: owner) }
            if options.json { return try printJSON(guild) }
            printTable(["id", "name", "owner", "cell"], [[guild.id.description, guild.name, guild.owner_id.description, home.name]])
        }

        /// The named cell, or the cell of the region with the fewest workspaces.
        static func placement(_ config: ClusterConfig, cell: String?, region: String) async throws -> ClusterConfig.Cell {
            if let cell {
                guard let named = config.cell(named: cell) else { throw ValidationError("no cell named \(cell)") }
                return named
            }
            let candidates = config.cells.filter { $0.region == region }
            guard !candidates.isEmpty else { throw ValidationError("no cell in region \(region)") }
            var counts: [(ClusterConfig.Cell, Int)] = []
            for candidate in candidates { counts.append((candidate, try await withDatabase(candidate) { try await $0.workspaceCount() })) }
            return counts.min { ($0.1, $0.0.id) < ($1.1, $1.0.id) }!.0
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists the cell's workspaces.")
        @OptionGroup var options: CellOptions

        func run() async throws {
            let all = try await withDomain(options) { domain in try await domain.allWorkspaces().map { WorkspaceRow(guild: $0.0, members: $0.1) } }
            if options.json { return try printJSON(all) }
            printTable(["id", "name", "owner", "members"], all.map { [$0.guild.id.description, $0.guild.name, $0.guild.owner_id.description, String($0.members)] })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Shows a workspace with its channels.")
        @OptionGroup var options: CellOptions
        @Argument var id: String

        func run() async throws {
            let id = try parseID(self.id, "workspace id")
            let detail = try await withDomain(options) { domain -> WorkspaceDetail in
                guard let record = try await domain.db.workspace(id: id) else { throw ValidationError("no workspace \(id) in this cell") }
                let caller = Caller(userID: record.ownerID, tokenID: Snowflake(0), isBot: false)
                return WorkspaceDetail(guild: try await domain.guild(id, caller: caller, withCounts: true),
                                       channels: try await domain.channels(id, caller: caller))
            }
            if options.json { return try printJSON(detail) }
            printTable(["id", "name", "owner", "members"], [[detail.guild.id.description, detail.guild.name, detail.guild.owner_id.description,
                                                             String(detail.guild.approximate_member_count ?? 0)]])
            print("")
            printTable(["channel", "type", "name", "position", "parent"], detail.channels.map {
                [$0.id.description, $0.type == 4 ? "category" : "text", $0.name, String($0.position), $0.parent_id?.description ?? ""]
            })
        }
    }
}

extension WorkspaceCommands {
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deletes a workspace in its home cell (as its owner would: its members get GUILD_DELETE; its channels and messages go).")
        @OptionGroup var options: CellOptions
        @Argument var id: String
        @OptionGroup var confirmation: Confirmation

        func validate() throws { try confirmation.require("deleting a workspace") }

        func run() async throws {
            let id = try parseID(self.id, "workspace id")
            for cell in try options.selectedCells() {
                let deleted = try await withDomain(cell: cell) { domain -> Bool in
                    guard let record = try await domain.db.workspace(id: id) else { return false }
                    try await domain.deleteGuild(id, caller: Caller(userID: record.ownerID, tokenID: Snowflake(0), isBot: false))
                    return true
                }
                if deleted {
                    return try report(options.json, ["id": id.description, "deleted_in": cell.name]) { print("deleted workspace \(id) in \(cell.name)") }
                }
            }
            throw Refused("no cell holds workspace \(id)")
        }
    }
}

struct WorkspaceRow: Encodable, Sendable { var guild: Guild; var members: Int }
struct WorkspaceDetail: Encodable, Sendable { var guild: Guild; var channels: [GuildChannel] }

struct MemberCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "member", abstract: "Workspace membership (e.g. adding a bot).",
                                                    subcommands: [Add.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Puts a user or bot into a workspace.")
        @OptionGroup var options: CellOptions
        @Argument var workspace: String
        @Argument var user: String

        func run() async throws {
            let (ws, user) = (try parseID(workspace, "workspace"), try parseID(self.user, "user"))
            let member = try await withDomain(options) { try await $0.addMember(ws, userID: user) }
            try report(options.json, JSONValue.object(["workspace": .string(ws.description), "user": .string(user.description), "added": .bool(member != nil)])) {
                print(member == nil ? "already a member" : "added \(user) to \(ws)")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Removes a member from a workspace.")
        @OptionGroup var options: CellOptions
        @Argument var workspace: String
        @Argument var user: String

        func run() async throws {
            let (ws, user) = (try parseID(workspace, "workspace"), try parseID(self.user, "user"))
            let removed = try await withDomain(options) { try await $0.removeMember(ws, userID: user) }
            try report(options.json, JSONValue.object(["workspace": .string(ws.description), "user": .string(user.description), "removed": .bool(removed)])) {
                print(removed ? "removed \(user) from \(ws)" : "not a member")
            }
        }
    }
}
