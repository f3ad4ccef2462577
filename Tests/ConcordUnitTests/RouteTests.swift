import Foundation
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

    /// Each endpoint's declaration is the one its own path and method match, with each id bound.
    @Test func everyDeclaredEndpointMatchesItsOwnPath() throws {
        for endpoint in Endpoint.allCases {
            let spec = endpoint.spec
            for path in [spec.path] + (spec.alias.map { [$0] } ?? []) {
                let concrete = path.replacingOccurrences(of: "{guild}", with: "11").replacingOccurrences(of: "{channel}", with: "12")
                    .replacingOccurrences(of: "{message}", with: "13").replacingOccurrences(of: "{user}", with: "14")
                    .replacingOccurrences(of: "{role}", with: "15").replacingOccurrences(of: "{invite}", with: "1abc")
                    .replacingOccurrences(of: "{overwrite}", with: "16")
                let route = try RouteTable.match(method: spec.method, path: "/api/v10/" + concrete)
                #expect(route.endpoint == endpoint, "\(spec.method) \(path)")
                #expect((route.guildID != nil) == path.contains("{guild}") && (route.channelID != nil) == path.contains("{channel}")
                        && (route.messageID != nil) == path.contains("{message}") && (route.userID != nil) == path.contains("{user}")
                        && (route.roleID != nil) == path.contains("{role}") && (route.inviteCode != nil) == path.contains("{invite}")
                        && (route.overwriteID != nil) == path.contains("{overwrite}"), "\(path)")
            }
        }
        #expect(Endpoint.createMessage.spec.servedByReplica && !Endpoint.deleteChannel.spec.servedByReplica)
        #expect(Endpoint.getInvite.isPublic && !Endpoint.getInvite.isEdgeLocal && Endpoint.getGatewayBot.isEdgeLocal && !Endpoint.getGatewayBot.isPublic)
        #expect(throws: APIError.self) { try Endpoint.createMessage.spec.body.check(Data(#"{"content":"x",}"#.utf8)) }
        #expect(throws: Never.self) { try Endpoint.createInvite.spec.body.check(Data()) }
    }

    @Test func inviteCodesCarryTheirCell() {
        var rng = SystemRandomNumberGenerator()
        for cell in [0, 1, 9, 10, 35, 63] {
            #expect(InviteCode.cell(of: InviteCode.make(cell: cell, using: &rng)) == cell)
        }
    }
}
