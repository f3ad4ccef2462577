import ConcordModels
import Foundation
import Testing

/// The real-client test: stock discord.py (installed by `make test` into a throwaway virtual
/// environment) runs two bots against a running edge and cell with only its base URLs changed.
@Suite("discord.py")
struct DiscordPyTests {
    static let available = ProcessInfo.processInfo.environment["CONCORD_TEST_DISCORDPY"] != nil && PythonScript.python != nil

    @Test(.enabled(if: available, "discord.py could not be installed from PyPI (see make test's output)"))
    func stockBotRunsTheFlow() async throws {
        try await TestCluster.with { c in
            let (ownerID, _) = try await c.register("owner")
            let guild = try await c.domain.createWorkspace(GuildCreateRequest(name: "Py"), ownerID: ownerID)
            let (bot, token) = try await c.domain.createAccount(username: "pybot", password: nil, bot: true, ownerID: ownerID)
            _ = try await c.domain.addMember(guild.id, userID: bot.id)
            let (watcher, watcherToken) = try await c.domain.createAccount(username: "pywatcher", password: nil, bot: true, ownerID: ownerID)
            _ = try await c.domain.addMember(guild.id, userID: watcher.id)

            let (status, log) = try await PythonScript.run("DiscordPy/flow_bot.py", [c.edgeURL, token, watcherToken], timeout: .seconds(120))
            #expect(status == 0, "discord.py flow failed:\n\(log)")
            // make test installs zstandard, so discord.py asks for zstd-stream as it does by default on Python 3.14.
            #expect(log.contains("compression: zstd-stream"), "discord.py did not use zstd-stream:\n\(log)")
            for step in ["on_ready sees a workspace", "the bot receives its own MESSAGE_CREATE", "a second bot receives the same MESSAGE_CREATE",
                         "reply carries message_reference", "channel.history finds both", "delete",
                         "the dropped bot resumes its session", "the resumed bot gets what was posted meanwhile"] {
                #expect(log.contains("ok: \(step)"), "missing step: \(step)")
            }
        }
    }
}
