import ConcordModels
import Testing

@Suite("Routes")
struct RouteTests {
    @Test func matchesDiscordPaths() throws {
        let r = try RouteTable.match(method: "GET", path: "/api/v10/channels/175928847299117063/messages/42")
        #expect(r.endpoint == .getMessage)
        #expect(r.channelID == Snowflake(175928847299117063))
        #expect(r.messageID == Snowflake(42))
        #expect(r.ownerCell == Snowflake(175928847299117063).cell)
        #expect(try RouteTable.match(method: "GET", path: "/api/v9/users/@me").endpoint == .getCurrentUser)
        #expect(try RouteTable.match(method: "GET", path: "/api/v10/users/@me/guilds/").endpoint == .getCurrentUserGuilds)
        #expect(try RouteTable.match(method: "GET", path: "/api/v10/users/5").userID == Snowflake(5))
        #expect(try RouteTable.match(method: "POST", path: "/api/v10/invites/1abcDEF").inviteCode == "1abcDEF")
        #expect(try RouteTable.match(method: "GET", path: "/api/v10/users/@me").ownerCell == nil)
    }

    @Test func directMessagesAreOpenedInTheLowerUsersCell() throws {
        #expect(try RouteTable.match(method: "POST", path: "/api/v10/users/@me/channels").endpoint == .createDM)
        #expect(try RouteTable.match(method: "GET", path: "/api/v10/users/@me/channels").endpoint == .listDMs)
        let accept = try RouteTable.match(method: "POST", path: "/api/v10/guilds/42/share-invites/2abcdefghi")
        #expect(accept.endpoint == .acceptShareInvite && accept.ownerCell == Snowflake(42).cell && accept.inviteCode == "2abcdefghi",
                "a share invite is accepted in the accepting workspace's cell")
        let early = Snowflake(milliseconds: Snowflake.discordEpochMilliseconds + 1_000, cell: 2, process: 0, increment: 0)
        let late = Snowflake(milliseconds: Snowflake.discordEpochMilliseconds + 2_000, cell: 1, process: 0, increment: 0)
        #expect(DMChannel.homeCell(early, late) == 2 && DMChannel.homeCell(late, early) == 2, "either side finds the same home")
    }

    @Test func unknownPathsMethodsAndIDs() {
        #expect(throws: APIError.notFound) { try RouteTable.match(method: "GET", path: "/api/v10/nothing") }
        #expect(throws: APIError.notFound) { try RouteTable.match(method: "GET", path: "/v10/users/@me") }
        #expect(throws: APIError.methodNotAllowed) { try RouteTable.match(method: "PUT", path: "/api/v10/users/@me") }
        #expect(throws: APIError.self) { try RouteTable.match(method: "GET", path: "/api/v10/channels/xyz") }
    }

    @Test func inviteCodesCarryTheirCell() {
        var rng = SystemRandomNumberGenerator()
        for cell in [0, 1, 9, 10, 35, 63] {
            #expect(InviteCode.cell(of: InviteCode.make(cell: cell, using: &rng)) == cell)
        }
    }
}
