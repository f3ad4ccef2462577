import ConcordModels
import Foundation
import Testing

/// Stock discord.py (installed by `make test` into a throwaway virtual environment) against a
/// running edge and cell with only its base URLs changed; its flow runs with the other
/// libraries' (LibraryTests).
@Suite("discord.py")
struct DiscordPyTests {
    static let available = ProcessInfo.processInfo.environment["CONCORD_TEST_DISCORDPY"] != nil && PythonScript.python != nil

    /// discord.py's `channel.permissions_for(member)`, computed from its gateway cache after it
    /// built roles and private channels, is what the server enforces: for each member and
    /// channel, the same permissions, and the same answers to reading and posting.
    @Test(.enabled(if: available, "discord.py could not be installed from PyPI (see make test's output)"))
    func permissionsForMatchesWhatTheServerEnforces() async throws {
        try await TestCluster.with { c in
            let (humanID, _) = try await c.register("founder")
            let (bot, token) = try await c.domain.createAccount(username: "permbot", password: nil, bot: true, ownerID: humanID)
            let guild = try await c.domain.createWorkspace(GuildCreateRequest(name: "Perms"), ownerID: bot.id)
            var tokens: [Snowflake: String] = [:]
            for name in ["alice", "bob"] {
                let (id, token) = try await c.register(name)
                _ = try await c.domain.addMember(guild.id, userID: id)
                tokens[id] = token
            }
            let (status, log) = try await PythonScript.run("Libraries/discordpy_permissions.py", [c.edgeURL, token], timeout: .seconds(120))
            #expect(status == 0, "discord.py permissions flow failed:\n\(log)")
            // The bits both sides know and that decide what a member does in a text channel.
            let compared: Permissions = [.createInstantInvite, .manageChannels, .addReactions, .viewChannel, .sendMessages, .manageMessages,
                                         .embedLinks, .attachFiles, .readMessageHistory, .mentionEveryone, .manageRoles]
            var checked = 0
            for line in log.split(separator: "\n") where line.hasPrefix("perm ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, let user = Snowflake(parts[1]), let channel = Snowflake(parts[2]), let value = UInt64(parts[3]) else { continue }
                let theirs = Permissions(rawValue: value).intersection(compared)
                let ours = try #require(try await c.domain.db.channelAccess(id: channel, userID: user)).permissions.intersection(compared)
                #expect(theirs == ours, "user \(user) in \(channel): discord.py \(theirs.rawValue), server \(ours.rawValue)")
                if let token = tokens[user] {
                    let read = try await c.request(.GET, "/channels/\(channel)/messages", token: token).status
                    #expect((read == 200) == theirs.contains(.viewChannel), "user \(user) reads \(channel): \(read)")
                    let post = try await c.request(.POST, "/channels/\(channel)/messages", token: token, body: MessageCreateRequest(content: "hi")).status
                    #expect((post == 200) == theirs.isSuperset(of: [.viewChannel, .sendMessages]), "user \(user) posts in \(channel): \(post)")
                }
                checked += 1
            }
            #expect(checked == 9, "three members in three channels:\n\(log)")
            #expect(guild.owner_id == bot.id)
        }
    }
}
