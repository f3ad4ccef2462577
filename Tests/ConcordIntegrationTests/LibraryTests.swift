import ConcordCell
import ConcordModels
import Foundation
import Synchronization
import Testing

/// The Discord libraries on PyPI, stock, each running the same flow (Tests/Libraries) against
/// a cluster of two regions: at the edge in the workspace's region, then at the edge in the
/// other. `make test` installs each into a throwaway virtual environment of its own.
@Suite("Stock Discord libraries", .serialized)
struct LibraryTests {
    static let steps = ["ready with the workspace in its cache", "the current user is a bot", "send returns the message",
                        "the bot receives its own message event", "a second bot receives the same message",
                        "after a quiet pause both bots read on", "reply carries message_reference",
                        "edit", "history finds both", "delete", "typing", "the dropped bot resumes its session",
                        "a burst is paced by the rate-limit headers", "the resumed bot gets what was posted meanwhile"]

    static let releases = "concord_gateway_compression_releases_total", resumes = "concord_gateway_resumes_total"

    /// A count summed over the cluster's edges, from their own metrics.
    func counted(_ c: TestCluster, _ series: String) -> Int {
        c.edgeAPIs.map { Int(ObservabilityTests.sample($0.metrics.scrape(), series) ?? 0) }.reduce(0, +)
    }

    @Test(arguments: Library.installed)
    func runsTheFlowAtBothRegionsEdges(_ library: Library) async throws {
        // Discord's own limits (5 sends per channel in 5 s, 50 requests a second): the flow's burst
        // must be paced by the library reading the X-RateLimit headers, not by 429s.
        let clusterLog = LogRecorder()
        try await TestCluster.with(cells: 2, edges: 2, rateLimits: .discord, logger: clusterLog.logger()) { c in
            let (ownerID, _) = try await c.register("owner")
            let guild = try await c.domain.createWorkspace(GuildCreateRequest(name: library.rawValue), ownerID: ownerID)
            // The bots pin and bulk delete: they hold a role with MANAGE_MESSAGES.
            let owner = Caller(userID: ownerID, tokenID: Snowflake(0), isBot: false)
            let moderators = try await c.domain.createRole(guild.id, RoleRequest(name: "bots", permissions: String(Permissions.manageMessages.rawValue)), caller: owner)
            #expect(c.config.cells[0].region == "us" && c.config.edges.map(\.region) == ["us", "eu"], "the workspace's region first, then the other")
            for (edge, region) in zip(c.edgeURLs, ["us", "eu"]) {
                // A fresh pair of bots per edge: the same bot identifying again within 5 s would wait out max_concurrency.
                var tokens: [String] = []
                for role in ["flow", "watch"] {
                    let (bot, token) = try await c.domain.createAccount(username: "\(role)\(region)", password: nil, bot: true, ownerID: ownerID)
                    _ = try await c.domain.addMember(guild.id, userID: bot.id)
                    try await c.domain.setMemberRole(guild.id, userID: bot.id, roleID: moderators.id, held: true, caller: owner)
                    tokens.append(token)
                }
                let (releasedBefore, resumedBefore) = (counted(c, Self.releases), counted(c, Self.resumes))
                let (status, log) = try await PythonScript.run(library.script, [edge] + tokens, python: library.python!, timeout: .seconds(120))
                #expect(status == 0, "\(library.rawValue) at the \(region) edge failed:\n\(log)\nthe cluster's log:\n\(status == 0 ? "" : clusterLog.last)")
                for step in Self.steps + library.extraSteps {
                    #expect(log.contains("ok: \(step)"), "\(library.rawValue) at the \(region) edge: missing step \(step)")
                }
                if library.streamsZlib {
                    // Its quiet pause outlasted the tests' one second: its streams went on through new contexts.
                    let released = counted(c, Self.releases) - releasedBefore
                    #expect(released >= 1, "\(library.rawValue) at the \(region) edge: no idle zlib context released")
                }
                // The flow's own drop is its one resume: a stream a library could not read (a
                // carried-on zlib stream included) would have made it reconnect and resume again.
                let resumed = counted(c, Self.resumes) - resumedBefore
                #expect(resumed <= 1, "\(library.rawValue) at the \(region) edge resumed \(resumed) times")
                let refused = c.edgeAPIs.map { $0.rateLimitedAnswers.load(ordering: .relaxed) }
                #expect(refused == [0, 0], "\(library.rawValue) at the \(region) edge met 429s: \(refused)")
            }
        }
    }
}

/// A library, its flow and the interpreter of the environment it is installed in.
enum Library: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case discordPy = "discord.py", hikari, disnake, nextcord, pycord = "py-cord", interactions = "interactions.py"

    var testDescription: String { rawValue }

    /// Whether it asks for zlib-stream (the others ask for zstd-stream, as zstandard is installed).
    var streamsZlib: Bool { ![.discordPy, .hikari].contains(self) }

    var script: String {
        switch self {
        case .discordPy: "Libraries/discordpy_flow.py"
        case .pycord: "Libraries/pycord_flow.py"
        default: "Libraries/\(rawValue.replacingOccurrences(of: ".py", with: ""))_flow.py"
        }
    }

    /// Files, reactions, pins and bulk delete, in the flow of the libraries descended from discord.py.
    static let richMessageSteps = ["a file is uploaded", "and downloaded by its URL, byte for byte", "a reaction reaches the other bot", "the message carries its reactions", "who reacted", "a reaction is removed",
                                   "reactions are cleared", "a message is pinned", "and unpinned", "messages are bulk deleted", "and gone from history"]

    /// What a library does beyond the common flow.
    var extraSteps: [String] {
        switch self {
        // make test installs zstandard, so discord.py asks for zstd-stream as it does by default on Python 3.14.
        case .discordPy: ["compression is zstd-stream"] + Self.richMessageSteps
        case .disnake, .nextcord, .pycord: Self.richMessageSteps
        case .hikari: ["the REST-only client fetches the current user", "the REST-only client fetches the workspace", "the REST-only client sends",
                       "a file is uploaded", "and downloaded by its URL, byte for byte", "the message carries its reactions", "a message is pinned"]
        default: []
        }
    }

    /// discord.py lives in the environment the other Python tests use; every other library in
    /// one of its own under CONCORD_TEST_LIBRARIES (py-cord and discord.py both are `discord`).
    var python: String? {
        if self == .discordPy { return DiscordPyTests.available ? PythonScript.python : nil }
        guard let root = ProcessInfo.processInfo.environment["CONCORD_TEST_LIBRARIES"] else { return nil }
        let python = "\(root)/\(rawValue)/bin/python"
        return FileManager.default.isExecutableFile(atPath: python) ? python : nil
    }

    static var installed: [Library] { allCases.filter { $0.python != nil } }
}
