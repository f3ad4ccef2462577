import AsyncHTTPClient
import ConcordModels
import Foundation
import NIOHTTP1
import Testing

/// End to end through a running edge and cell: what a person or bot does with curl.
@Suite("REST end to end")
struct RESTFlowTests {
    @Test func registerLoginAndWorkspaceLifecycle() async throws {
        try await TestCluster.with { c in
            let (aliceID, alice) = try await c.register("alice")
            let me = try await c.request(.GET, "/users/@me", token: alice)
            #expect(me.status == 200)
            #expect(me.headers["Content-Type"] == ["application/json"])
            #expect(try me.decode(User.self).id == aliceID)
            #expect(me.json?["id"]?.stringValue == aliceID.description, "snowflakes are strings on the wire")

            let login = try await c.request(.POST, "/auth/login", body: LoginRequest(login: "ALICE", password: "correct horse battery"))
            #expect(login.status == 200)
            #expect(try login.decode(TokenResponse.self).user_id == aliceID)
            let badLogin = try await c.request(.POST, "/auth/login", body: LoginRequest(login: "alice", password: "wrong password"))
            #expect(badLogin.status == 400)
            #expect(badLogin.json?["errors"]?["login"]?["_errors"]?.arrayValue?.first?["message"]?.stringValue == "Login or password is invalid.")

            let duplicate = try await c.request(.POST, "/auth/register", body: RegisterRequest(username: "alice", password: "another password"))
            #expect(duplicate.status == 400)
            #expect(duplicate.json?["code"]?.intValue == 50035)

            let created = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Team"))
            #expect(created.status == 201)
            let guild = try created.decode(Guild.self)
            #expect(guild.owner_id == aliceID)
            #expect(guild.id.cell == 1, "ids carry the cell that minted them")
            #expect(guild.roles.first?.name == "@everyone")

            let channels = try await c.request(.GET, "/guilds/\(guild.id)/channels", token: alice).decode([GuildChannel].self)
            #expect(channels.map(\.name) == ["Text Channels", "general"])
            #expect(channels[1].parent_id == channels[0].id)

            let topic = try await c.request(.POST, "/guilds/\(guild.id)/channels", token: alice,
                                            body: ChannelCreateRequest(name: "Release Plans", topic: "ship it", parentID: channels[0].id))
            #expect(topic.status == 201)
            let plans = try topic.decode(GuildChannel.self)
            #expect(plans.name == "release-plans")
            #expect(plans.topic == "ship it")

            let patched = try await c.request(.PATCH, "/channels/\(plans.id)", token: alice, json: #"{"topic":null,"name":"plans"}"#)
            #expect(patched.status == 200)
            #expect(try patched.decode(GuildChannel.self).topic == nil)
            #expect(try patched.decode(GuildChannel.self).name == "plans")

            let renamed = try await c.request(.PATCH, "/guilds/\(guild.id)", token: alice, json: #"{"name":"Team Two"}"#)
            #expect(try renamed.decode(Guild.self).name == "Team Two")
            let counted = try await c.request(.GET, "/guilds/\(guild.id)?with_counts=true", token: alice).decode(Guild.self)
            #expect(counted.approximate_member_count == 1)

            let mine = try await c.request(.GET, "/users/@me/guilds", token: alice).decode([PartialGuild].self)
            #expect(mine.map(\.id) == [guild.id])
            #expect(mine[0].owner)

            let deletedChannel = try await c.request(.DELETE, "/channels/\(plans.id)", token: alice)
            #expect(deletedChannel.status == 200)
            #expect(try await c.request(.GET, "/channels/\(plans.id)", token: alice).json?["code"]?.intValue == 10003)

            #expect(try await c.request(.DELETE, "/guilds/\(guild.id)", token: alice).status == 204)
            #expect(try await c.request(.GET, "/guilds/\(guild.id)", token: alice).status == 404)
        }
    }

    @Test func messagesPostEditDeleteAndList() async throws {
        try await TestCluster.with { c in
            let (aliceID, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Chat")).decode(Guild.self)
            let general = guild.system_channel_id!

            let nonceReply = try await c.request(.POST, "/channels/\(general)/messages", token: alice,
                                                 json: #"{"content":"hello <@\#(aliceID)> @everyone","nonce":"n-1","tts":false,"embeds":[{"title":"T","fields":[{"name":"a","value":"b"}]}]}"#)
            #expect(nonceReply.status == 200, "\(nonceReply.text)")
            let first = try nonceReply.decode(Message.self)
            #expect(first.content == "hello <@\(aliceID)> @everyone")
            #expect(first.author.id == aliceID)
            #expect(first.mentions.map(\.user.id) == [aliceID])
            #expect(first.mention_everyone)
            #expect(first.nonce == .string("n-1"))
            #expect(first.embeds.first?.title == "T")
            #expect(first.embeds.first?.type == "rich")
            #expect(first.timestamp.hasSuffix("+00:00") && first.timestamp.count == "2024-01-01T00:00:00.000000+00:00".count)
            #expect(first.guild_id == guild.id)

            // A reply whose message_reference.message_id is a JSON number above 2^53.
            let reply = try await c.request(.POST, "/channels/\(general)/messages", token: alice,
                                            json: #"{"content":"re","message_reference":{"message_id":\#(first.id.rawValue)}}"#)
            #expect(reply.status == 200, "\(reply.text)")
            let answered = try reply.decode(Message.self)
            #expect(first.id.rawValue > 1 << 53)
            #expect(answered.message_reference?.message_id == first.id)
            #expect(answered.referenced_message?.value.id == first.id)
            #expect(answered.type == 19)

            var ids = [first.id, answered.id]
            for i in 0..<5 {
                ids.append(try await c.request(.POST, "/channels/\(general)/messages", token: alice,
                                               body: MessageCreateRequest(content: "m\(i)")).decode(Message.self).id)
            }
            let latest = try await c.request(.GET, "/channels/\(general)/messages?limit=3", token: alice).decode([Message].self)
            #expect(latest.map(\.id) == Array(ids.suffix(3).reversed()))
            let before = try await c.request(.GET, "/channels/\(general)/messages?before=\(ids[3])&limit=10", token: alice).decode([Message].self)
            #expect(before.map(\.id) == [ids[2], ids[1], ids[0]])
            #expect(before.last?.nonce == .string("n-1"))

            let edited = try await c.request(.PATCH, "/channels/\(general)/messages/\(ids[2])", token: alice, json: #"{"content":"changed"}"#)
            #expect(edited.status == 200)
            #expect(try edited.decode(Message.self).edited_timestamp != nil)
            let fetched = try await c.request(.GET, "/channels/\(general)/messages/\(ids[2])", token: alice).decode(Message.self)
            #expect(fetched.content == "changed")

            #expect(try await c.request(.DELETE, "/channels/\(general)/messages/\(ids[2])", token: alice).status == 204)
            let gone = try await c.request(.GET, "/channels/\(general)/messages/\(ids[2])", token: alice)
            #expect(gone.status == 404)
            #expect(gone.json?["code"]?.intValue == 10008)
            #expect(try await c.request(.POST, "/channels/\(general)/typing", token: alice).status == 204)
        }
    }

    @Test func membershipAndInvites() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let (bobID, bob) = try await c.register("bob")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Private")).decode(Guild.self)
            let general = guild.system_channel_id!
            let post = try await c.request(.POST, "/channels/\(general)/messages", token: alice, body: MessageCreateRequest(content: "secret"))
            let secret = try post.decode(Message.self)

            // Bob is not a member: every read and write is refused, nothing leaks.
            for (method, path) in [(HTTPMethod.GET, "/guilds/\(guild.id)"), (.GET, "/guilds/\(guild.id)/channels"),
                                   (.GET, "/channels/\(general)/messages"), (.GET, "/channels/\(general)/messages/\(secret.id)"),
                                   (.GET, "/guilds/\(guild.id)/members")] {
                let reply = try await c.request(method, path, token: bob)
                #expect(reply.status == 403, "\(path)")
                #expect(reply.json?["code"]?.intValue == 50001)
                #expect(!reply.text.contains("secret"))
            }
            let write = try await c.request(.POST, "/channels/\(general)/messages", token: bob, body: MessageCreateRequest(content: "hi"))
            #expect(write.status == 403)
            #expect(try await c.request(.GET, "/channels/\(general)/messages", token: alice).decode([Message].self).count == 1)

            let invite = try await c.request(.POST, "/channels/\(general)/invites", token: alice, json: #"{"max_uses":1}"#).decode(Invite.self)
            #expect(invite.max_uses == 1)
            let joined = try await c.request(.POST, "/invites/\(invite.code)", token: bob)
            #expect(joined.status == 200, "\(joined.text)")
            #expect(try await c.request(.GET, "/channels/\(general)/messages", token: bob).decode([Message].self).map(\.content) == ["secret"])
            let member = try await c.request(.GET, "/guilds/\(guild.id)/members/\(bobID)", token: alice).decode(Member.self)
            #expect(member.user?.id == bobID)
            let members = try await c.request(.GET, "/guilds/\(guild.id)/members?limit=10", token: bob).decode([Member].self)
            #expect(members.count == 2)

            // The invite is used up; a third user cannot join with it.
            let (_, carol) = try await c.register("carol")
            #expect(try await c.request(.POST, "/invites/\(invite.code)", token: carol).json?["code"]?.intValue == 10006)

            // Members cannot manage what only the owner may, nor edit others' messages.
            #expect(try await c.request(.PATCH, "/guilds/\(guild.id)", token: bob, json: #"{"name":"mine"}"#).status == 403)
            #expect(try await c.request(.POST, "/guilds/\(guild.id)/channels", token: bob, body: ChannelCreateRequest(name: "x")).status == 403)
            let edit = try await c.request(.PATCH, "/channels/\(general)/messages/\(secret.id)", token: bob, json: #"{"content":"pwned"}"#)
            #expect(edit.status == 403)
            #expect(edit.json?["code"]?.intValue == 50005)
            #expect(try await c.request(.DELETE, "/channels/\(general)/messages/\(secret.id)", token: bob).status == 403)
            #expect(try await c.request(.GET, "/channels/\(general)/messages/\(secret.id)", token: alice).decode(Message.self).content == "secret")
        }
    }

    /// What libraries read as they start: their application's commands (nextcord, py-cord,
    /// interactions.py) and the default soundboard (py-cord). Concord has no application
    /// commands: the list is empty, may be set empty, and declaring commands is refused.
    @Test func whatLibrariesReadAtStartUp() async throws {
        try await TestCluster.with { c in
            let (ownerID, person) = try await c.register("owner")
            let guild = try await c.domain.createWorkspace(GuildCreateRequest(name: "Apps"), ownerID: ownerID)
            let (bot, token) = try await c.domain.createAccount(username: "appbot", password: nil, bot: true, ownerID: ownerID)
            let auth = "Bot " + token
            for path in ["/applications/\(bot.id)/commands", "/applications/\(bot.id)/guilds/\(guild.id)/commands"] {
                let list = try await c.request(.GET, path, token: auth)
                #expect(list.status == 200 && list.json == .array([]), "\(path): \(list.text)")
                let cleared = try await c.request(.PUT, path, token: auth, json: "[]")
                #expect(cleared.status == 200 && cleared.json == .array([]), "\(path): \(cleared.text)")
                let declared = try await c.request(.PUT, path, token: auth, json: #"[{"name":"ping","description":"Ping"}]"#)
                #expect(declared.status == 400 && declared.json?["code"]?.intValue == 50035, "\(path): \(declared.text)")
                #expect(try await c.request(.PUT, path, token: auth, json: #"{"name":"ping"}"#).status == 400, "not a list")
                #expect(try await c.request(.GET, path, token: person).status == 403, "another user's application")
                #expect(try await c.request(.GET, path).status == 401)
            }
            let sounds = try await c.request(.GET, "/soundboard-default-sounds", token: auth)
            #expect(sounds.status == 200 && sounds.json == .array([]))
        }
    }

    @Test func tokensAreCheckedOnEveryRequest() async throws {
        try await TestCluster.with { c in
            let (aliceID, alice) = try await c.register("alice")
            for token in [nil, "garbage", String(alice.dropLast()) + (alice.last == "A" ? "B" : "A"), "Bot " + alice] {
                let reply = try await c.request(.GET, "/users/@me", token: token)
                #expect(reply.status == 401, "token \(token ?? "none")")
                #expect(reply.json?["message"]?.stringValue == "401: Unauthorized")
            }
            // A bot made by an operator: its token works only with the Bot prefix.
            let (bot, botToken) = try await c.domain.createAccount(username: "helper", password: nil, bot: true, ownerID: aliceID)
            #expect(try await c.request(.GET, "/users/@me", token: botToken).status == 401)
            let me = try await c.request(.GET, "/users/@me", token: "Bot " + botToken).decode(User.self)
            #expect(me.id == bot.id && me.bot)
            let app = try await c.request(.GET, "/oauth2/applications/@me", token: "Bot " + botToken).decode(Application.self)
            #expect(app.id == bot.id)
            #expect(app.owner.id == aliceID)
            let gateway = try await c.request(.GET, "/gateway/bot", token: "Bot " + botToken)
            #expect(gateway.json?["url"]?.stringValue?.hasPrefix("ws://") == true)
            #expect(gateway.json?["shards"]?.intValue == 1)

            // Revoked tokens are refused at once; other tokens of the user keep working.
            let second = try await c.request(.POST, "/auth/login", body: LoginRequest(login: "alice", password: "correct horse battery"))
                .decode(TokenResponse.self).token
            let revoked = try await c.domain.revokeTokens(token: alice)
            #expect(revoked.count == 1)
            #expect(try await c.request(.GET, "/users/@me", token: alice).status == 401)
            #expect(try await c.request(.GET, "/users/@me", token: second).status == 200)

            // The cell's internal API refuses callers without the internal secret, even with a valid token.
            for secret in [nil, "wrong", c.secrets.internalSecret] {
                var request = HTTPClientRequest(url: c.cellURL + "/api/v10/users/@me")
                request.headers.add(name: "Authorization", value: second)
                if let secret { request.headers.add(name: "X-Concord-Internal", value: secret) }
                let status = try await c.http.execute(request, timeout: .seconds(10)).status.code
                #expect(status == (secret == c.secrets.internalSecret ? 200 : 401))
            }
        }
    }

    @Test func validationErrorsHaveDiscordsShape() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Validation")).decode(Guild.self)
            let path = "/channels/\(guild.system_channel_id!)/messages"

            let tooLong = try await c.request(.POST, path, token: alice, body: MessageCreateRequest(content: String(repeating: "x", count: 2001)))
            #expect(tooLong.status == 400)
            #expect(tooLong.json?["code"]?.intValue == 50035)
            #expect(tooLong.json?["message"]?.stringValue == "Invalid Form Body")
            #expect(tooLong.json?["errors"]?["content"]?["_errors"]?.arrayValue?.first?["code"]?.intValue == 50035, "an integer, as the spec types it")
            #expect(tooLong.json?["errors"]?["content"]?["_errors"]?.arrayValue?.first?["message"]?.stringValue == "Must be 2000 or fewer in length.")
            #expect(try await c.request(.POST, path, token: alice, body: MessageCreateRequest(content: String(repeating: "é", count: 2000))).status == 200)

            let empty = try await c.request(.POST, path, token: alice, json: #"{"content":""}"#)
            #expect(empty.status == 400)
            #expect(empty.json?["code"]?.intValue == 50006)

            let embeds = (0..<11).map { _ in #"{"title":"t"}"# }.joined(separator: ",")
            let tooMany = try await c.request(.POST, path, token: alice, json: #"{"embeds":[\#(embeds)]}"#)
            #expect(tooMany.json?["errors"]?["embeds"] != nil)
            let longTitle = try await c.request(.POST, path, token: alice, json: #"{"embeds":[{"title":"\#(String(repeating: "t", count: 257))"}]}"#)
            #expect(longTitle.json?["errors"]?["embeds"]?["0"]?["title"] != nil)
            let nonce = try await c.request(.POST, path, token: alice, json: #"{"content":"x","nonce":"\#(String(repeating: "n", count: 26))"}"#)
            #expect(nonce.json?["errors"]?["nonce"] != nil)
            let rows = (0..<6).map { _ in #"{"type":1,"components":[{"type":2,"style":1,"label":"b","custom_id":"c"}]}"# }.joined(separator: ",")
            let components = try await c.request(.POST, path, token: alice, json: #"{"content":"x","components":[\#(rows)]}"#)
            #expect(components.json?["errors"]?["components"] != nil)

            let malformed = try await c.request(.POST, path, token: alice, json: #"{"content": "#)
            #expect(malformed.status == 400)
            #expect(malformed.json?["code"]?.intValue == 50109 || malformed.json?["code"]?.intValue == 50035)
            let wrongType = try await c.request(.POST, path, token: alice, json: #"{"content": 5}"#)
            #expect(wrongType.json?["errors"]?["content"] != nil)

            let huge = try await c.request(.POST, path, token: alice, json: #"{"content":"\#(String(repeating: "x", count: 300_000))"}"#)
            #expect(huge.status == 413)

            let badID = try await c.request(.GET, "/channels/abc/messages", token: alice)
            #expect(badID.status == 400)
            #expect(badID.json?["errors"]?["channel_id"] != nil)
            let badLimit = try await c.request(.GET, "\(path)?limit=101", token: alice)
            #expect(badLimit.status == 400)

            let unknown = try await c.request(.GET, "/nope", token: alice)
            #expect(unknown.status == 404)
            #expect(unknown.json?["message"]?.stringValue == "404: Not Found")
            #expect(try await c.request(.GET, "/elsewhere", token: alice, rawPath: true).status == 404)
            #expect(try await c.request(.PUT, "/users/@me", token: alice).status == 405)
            #expect(try await c.request(.GET, "/channels/\(Snowflake(12345))", token: alice).json?["code"]?.intValue == 10003)

            // None of the refused writes reached storage.
            let stored = try await c.request(.GET, "\(path)?limit=100", token: alice).decode([Message].self)
            #expect(stored.count == 1)
        }
    }

    @Test func rateLimitedRequestsGetRetryAfter() async throws {
        try await TestCluster.with(rateLimits: .init(requestsPerSecond: 1000, messageSendsPer5s: 2)) { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Rates")).decode(Guild.self)
            let path = "/channels/\(guild.system_channel_id!)/messages"
            // Sent at once, so a slow machine cannot let the 5-second window refill between them.
            let replies = try await withThrowingTaskGroup(of: TestCluster.Reply.self) { group in
                for i in 0..<4 { group.addTask { try await c.request(.POST, path, token: alice, body: MessageCreateRequest(content: "\(i)")) } }
                return try await group.reduce(into: [TestCluster.Reply]()) { $0.append($1) }
            }
            let statuses = replies.map(\.status)
            let limited = replies.first { $0.status == 429 }
            #expect(statuses.filter { $0 == 200 }.count == 2, "two sends fit the window: \(statuses)")
            #expect(statuses.filter { $0 == 429 }.count == 2)
            let reply = try #require(limited)
            #expect(reply.headers["Retry-After"].first.flatMap(Int.init) ?? 0 >= 1)
            #expect(reply.headers["Via"].isEmpty == false)
            #expect((reply.json?["retry_after"]).map { if case .double(let d) = $0 { d > 0 } else if case .int(let i) = $0 { i > 0 } else { false } } == true)
            // A refused send stores nothing (a slow run may refill a token between sends, so count the 200s).
            #expect(try await c.request(.GET, "\(path)?limit=100", token: alice).decode([Message].self).count == statuses.filter { $0 == 200 }.count)
        }
    }
}
