import ArgumentParser
import ConcordModels
import ConcordStorage
import Foundation

struct BenchCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Data for benchmarks.", subcommands: [SeedHistory.self])

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
}
