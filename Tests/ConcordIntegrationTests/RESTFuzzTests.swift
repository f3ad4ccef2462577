import ConcordModels
import Foundation
import Testing

/// schemathesis (stock, from PyPI) generates valid and invalid requests from Discord's own
/// OpenAPI spec for every operation Concord serves, with a real token and real ids: no answer
/// may be a 5xx, an error must be in Discord's shape, and none may hang.
@Suite("REST fuzzing")
struct RESTFuzzTests {
    static let spec = ProcessInfo.processInfo.environment["CONCORD_TEST_SPEC"]
    static let available = ProcessInfo.processInfo.environment["CONCORD_TEST_SCHEMATHESIS"] != nil && PythonScript.python != nil && spec != nil

    @Test(.enabled(if: available, "schemathesis or Discord's OpenAPI spec is missing (see make test's output)"))
    func discordsSpecDrivesRequestsThatNeverBreakTheServer() async throws {
        try await TestCluster.with { c in
            let (aliceID, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Fuzzed")).decode(Guild.self)
            let general = guild.system_channel_id!
            let doomed = try await c.request(.POST, "/guilds/\(guild.id)/channels", token: alice, json: #"{"name":"doomed"}"#).decode(GuildChannel.self)
            let message = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "hi")).decode(Message.self)
            let invite = try await c.request(.POST, "/channels/\(general)/invites", token: alice, json: "{}").json?["code"]?.stringValue ?? ""
            let role = try await c.request(.POST, "/guilds/\(guild.id)/roles", token: alice, json: #"{"name":"fuzzed"}"#).decode(Role.self)
            let ids: [String: String] = ["guild_id": guild.id.description, "channel_id": general.description, "doomed_channel_id": doomed.id.description,
                                         "message_id": message.id.description, "user_id": aliceID.description, "code": invite,
                                         "role_id": role.id.description, "overwrite_id": role.id.description]
            let (status, log) = try await PythonScript.run("Fuzz/rest_fuzz.py", [Self.spec!, c.edgeURL + "/api/v10", alice,
                                                                                try WireJSON.encodeString(ids), "25"], timeout: .seconds(300))
            #expect(status == 0, "REST fuzzing found a failure:\n\(log.suffix(6000))")
            #expect(log.contains("passed"), "\(log.suffix(2000))")
            // The server is still whole afterwards.
            #expect(try await c.request(.GET, "/users/@me", token: alice).status == 200)
        }
    }
}
