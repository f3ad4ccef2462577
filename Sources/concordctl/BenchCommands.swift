import ArgumentParser
import ConcordAuth
import ConcordModels
import ConcordStorage
import Foundation

struct BenchCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Data for benchmarks.", subcommands: [SeedHistory.self, SeedMembers.self])

    struct SeedHistory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "seed-history",
            abstract: "Fills a channel with old messages spread over past days; prints the oldest and newest ids.")
        @OptionGroup var options: CellOptions
        @Option var channel: String
        @Option var author: String
        @Option var count: Int = 100_000
        @Option(help: "How many days back the history reaches.") var days: Double = 60

        func run() async throws {
            let channelID = try parseID(channel, "--channel")
            let authorID = try parseID(author, "--author")
            let (count, days) = (self.count, self.days)
            let (_, cell) = try options.selectedCell()
            let ids = try await withDatabase(cell) { db -> [Snowflake] in
                guard let channel = try await db.channel(id: channelID) else { throw ValidationError("no channel \(channelID)") }
                let generator = SnowflakeGenerator(cell: cell.id, process: Snowflake.maxProcessID - 1)
                let start = Date().addingTimeInterval(-days * 86_400)
                let step = days * 86_400 / Double(count)
                let ids = (0..<count).map { generator.next(now: start.addingTimeInterval(Double($0) * step)) }
                try await db.seedMessages(channelID: channelID, workspaceID: channel.guild_id, authorID: authorID, ids: ids) { "history message \($0)" }
                return ids
            }
            print("oldest \(ids.first!) newest \(ids.last!) buckets \(Set(ids.map(\.bucket)).count)")
        }
    }

    struct SeedMembers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "seed-members",
            abstract: "Adds COUNT bot members to a workspace in bulk; prints one Authorization value per line.")
        @OptionGroup var options: CellOptions
        @Option var workspace: String
        @Option var owner: String
        @Option var count: Int = 1000
        @Option(help: "Username prefix.") var prefix: String = "member"

        func run() async throws {
            let workspaceID = try parseID(workspace, "--workspace")
            let ownerID = try parseID(owner, "--owner")
            let (cell, count, prefix) = (try options.selectedCell().1, self.count, self.prefix)
            let authority = TokenAuthority(secret: try ClusterSecrets.fromEnvironment().tokenSecret)
            let generator = SnowflakeGenerator(cell: cell.id, process: Snowflake.maxProcessID - 1)
            var accounts: [(user: Snowflake, username: String, token: Snowflake, fingerprint: String)] = []
            var lines: [String] = []
            for n in 0..<count {
                let (user, tokenID) = (generator.next(), generator.next())
                let token = authority.mint(userID: user, tokenID: tokenID, kind: .bot)
                accounts.append((user, "\(prefix)\(n)", tokenID, TokenAuthority.fingerprint(token)))
                lines.append("Bot " + token)
            }
            try await withDatabase(cell) { db in
                try await db.seedMembers(workspaceID: workspaceID, ownerID: ownerID, tokenKind: Int(TokenClaims.Kind.bot.rawValue), accounts: accounts)
            }
            print(lines.joined(separator: "\n"))
        }
    }
}
