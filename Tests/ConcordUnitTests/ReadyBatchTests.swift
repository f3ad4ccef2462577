import ConcordGateway
import ConcordModels
import Foundation
import Testing

/// A batch of READY states crosses from cell to edge with each workspace written once, and an
/// edge's GUILD_CREATE reuses the encoding of what members see alike.
@Suite("Ready batches and GUILD_CREATE encodings")
struct ReadyBatchTests {
    let guild = Snowflake(1000)

    func member(_ id: UInt64) -> Member {
        Member(user: User(id: Snowflake(id), username: "u\(id)", globalName: nil, bot: false), nick: nil, joinedAt: "2026-01-0\(id % 9 + 1)T00:00:00.000000+00:00")
    }

    func workspace(channelName: String = "general") -> GuildCreatePayload {
        let g = Guild(id: guild, name: "w", description: nil, ownerID: Snowflake(1), systemChannelID: Snowflake(2001))
        let general = GuildChannel(id: Snowflake(2001), type: .guildText, guildID: guild, name: channelName, topic: nil, position: 0, parentID: nil, nsfw: false, lastMessageID: nil)
        return GuildCreatePayload(guild: g, channels: [general], members: [], memberCount: 900, joinedAt: nil, large: true)
    }

    /// A large workspace's GUILD_CREATE as `id` sees it: their own member object and joined_at.
    func seen(by id: UInt64, _ base: GuildCreatePayload? = nil) -> GuildCreatePayload {
        var payload = base ?? workspace()
        payload.members = [member(id)]
        payload.joined_at = member(id).joined_at
        return payload
    }

    func state(_ id: UInt64, guilds: [GuildCreatePayload]) -> ReadyState {
        ReadyState(user: User(id: Snowflake(id), username: "u\(id)", globalName: nil, bot: false), guilds: guilds, outboxSeq: 7)
    }

    @Test func statesComeBackWholeWithEachWorkspaceWrittenOnce() throws {
        var small = workspace(channelName: "small")
        small.guild.id = Snowflake(1001)
        (small.large, small.members) = (false, [member(2), member(3)])
        var smallFor2 = small, smallFor3 = small
        smallFor2.presences = [.object(["user": .object(["id": .string("3")])])]
        smallFor3.presences = [.object(["user": .object(["id": .string("2")])])]
        let states: [ReadyState?] = [state(2, guilds: [seen(by: 2), smallFor2]), nil, state(3, guilds: [seen(by: 3), smallFor3]),
                                     state(4, guilds: [seen(by: 4, workspace(channelName: "renamed"))])]
        let wire = try WireJSON.encode(ReadyBatch(states))
        #expect(try WireJSON.decode(ReadyBatch.self, from: wire).readyStates() == states)

        let object = try WireJSON.decode(JSONValue.self, from: wire)
        guard case .object(let batch)? = Optional(object), case .array(let workspaces)? = batch["workspaces"] else {
            Issue.record("no workspaces in \(object)"); return
        }
        // The large workspace as two shapes (a channel renamed between reads) and the small one.
        #expect(workspaces.count == 3)
        let text = String(decoding: wire, as: UTF8.self)
        #expect(text.components(separatedBy: "\"small\"").count - 1 == 1, "the small workspace's channels are written once")
        #expect(text.components(separatedBy: "\"u2\"").count - 1 == 3, "u2 as a user, as their own member of the large workspace and once in the small one's list (not once per state)")
    }

    @Test func anEntryThatIsNotThereIsAnError() throws {
        let good = String(decoding: try WireJSON.encode(ReadyBatch([state(2, guilds: [seen(by: 2)])])), as: UTF8.self)
        #expect(good.contains(#""workspace":0"#))
        let wire = good.replacingOccurrences(of: #""workspace":0"#, with: #""workspace":5"#)
        let batch = try WireJSON.decode(ReadyBatch.self, from: Data(wire.utf8))
        #expect(throws: DecodingError.self) { try batch.readyStates() }
    }

    @Test func guildCreateIsTheWholeObjectWithTheCommonPartEncodedOnce() throws {
        let encodings = GuildCreateEncodings()
        for id: UInt64 in [2, 3] {
            let payload = seen(by: id)
            let json = try encodings.body(payload).data
            #expect(try WireJSON.decode(JSONValue.self, from: Data(json.utf8)) == WireJSON.decode(JSONValue.self, from: WireJSON.encode(payload)))
            #expect(try WireJSON.decode(GuildCreatePayload.self, from: Data(json.utf8)) == payload)
        }
        // A workspace that changed is encoded again, not served from before.
        let renamed = seen(by: 2, workspace(channelName: "renamed"))
        let json = try encodings.body(renamed).data
        #expect(json.contains("\"renamed\"") && !json.contains("\"general\""))
        #expect(try WireJSON.decode(GuildCreatePayload.self, from: Data(json.utf8)) == renamed)
    }
}
