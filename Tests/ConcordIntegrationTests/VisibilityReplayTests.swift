import ConcordGateway
import ConcordModels
import Foundation
import NIOHTTP1
import Testing

/// Zulip's test, for channel visibility: after a random sequence of role, overwrite and member
/// changes, what a session built from READY plus the events it received equals what a new
/// READY shows.
@Suite("Visibility replay")
struct VisibilityReplayTests {
    /// Feeds a received dispatch to a session's visibility.
    static func feed(_ frame: JSONValue, into visibility: inout ChannelVisibility) {
        guard let type = frame["t"]?.stringValue, let d = frame["d"], let payload = try? WireJSON.encodeString(d) else { return }
        let guild = (type == "GUILD_CREATE" ? d["id"] : d["guild_id"])?.stringValue.flatMap(Snowflake.init)
        let channel = (type.hasPrefix("CHANNEL_") ? d["id"] : d["channel_id"])?.stringValue.flatMap(Snowflake.init)
        _ = visibility.admit(VisibilityEvent(type: type, guild: guild, channel: channel, payload: payload))
    }

    @Test(arguments: [UInt64(7), 2026])
    func eventsAfterReadyEqualAFreshReady(seed: UInt64) async throws {
        try await TestCluster.with { c in
            var rng = SplitMix(state: seed)
            let (_, alice) = try await c.register("alice")
            let (bobID, bob) = try await c.register("bob")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Replay")).decode(Guild.self)
            let general = try #require(guild.system_channel_id)
            let invite = try await c.request(.POST, "/channels/\(general)/invites", token: alice, json: "{}").decode(Invite.self)
            #expect(try await c.request(.POST, "/invites/\(invite.code)", token: bob).status == 200)
            let intents = GatewayFrames.defaultIntents | 1 << 1
            let session = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            session.send(GatewayFrames.identify(bob, intents: intents))
            _ = try await session.waitDispatch("GUILD_CREATE")

            var roles: [Snowflake] = []
            var channels: [Snowflake] = [general]
            let view = Permissions.viewChannel.rawValue
            for step in 0..<30 {
                let grant = Bool.random(using: &rng) ? String(view) : "0"
                switch Int.random(in: 0..<7, using: &rng) {
                case 0:
                    let role = try await c.request(.POST, "/guilds/\(guild.id)/roles", token: alice, json: #"{"name":"r\#(step)","permissions":"\#(grant)"}"#).decode(Role.self)
                    roles.append(role.id)
                case 1 where !roles.isEmpty:
                    let role = roles.randomElement(using: &rng)!
                    let method: HTTPMethod = Bool.random(using: &rng) ? .PUT : .DELETE
                    _ = try await c.request(method, "/guilds/\(guild.id)/members/\(bobID)/roles/\(role)", token: alice)
                case 2:
                    let targets = [(guild.id, 0), (bobID, 1)] + roles.map { ($0, 0) }
                    let (target, type) = targets.randomElement(using: &rng)!
                    let (allow, deny) = Bool.random(using: &rng) ? (String(view), "0") : ("0", String(view))
                    let channel = channels.randomElement(using: &rng)!
                    _ = try await c.request(.PUT, "/channels/\(channel)/permissions/\(target)", token: alice, json: #"{"type":\#(type),"allow":"\#(allow)","deny":"\#(deny)"}"#)
                case 3:
                    let channel = channels.randomElement(using: &rng)!
                    let target = ([guild.id, bobID] + roles).randomElement(using: &rng)!
                    _ = try await c.request(.DELETE, "/channels/\(channel)/permissions/\(target)", token: alice)
                case 4 where !roles.isEmpty:
                    let role = roles.remove(at: Int.random(in: 0..<roles.count, using: &rng))
                    _ = try await c.request(.DELETE, "/guilds/\(guild.id)/roles/\(role)", token: alice)
                case 5:
                    let everyone = Bool.random(using: &rng) ? Permissions.everyoneDefault : Permissions.everyoneDefault.subtracting(.viewChannel)
                    _ = try await c.request(.PATCH, "/guilds/\(guild.id)/roles/\(guild.id)", token: alice, json: #"{"permissions":"\#(everyone.rawValue)"}"#)
                default:
                    let channel = try await c.request(.POST, "/guilds/\(guild.id)/channels", token: alice, body: ChannelCreateRequest(name: "c\(step)")).decode(GuildChannel.self)
                    channels.append(channel.id)
                }
            }
            // Everything so far has reached the session once this has (one outbox, in order).
            let marker = try await c.request(.POST, "/guilds/\(guild.id)/channels", token: alice, body: ChannelCreateRequest(name: "marker")).decode(GuildChannel.self)
            channels.append(marker.id)
            _ = try await session.waitDispatch("CHANNEL_CREATE") { $0["d"]?["id"]?.stringValue == marker.id.description }

            var replayed = ChannelVisibility(userID: bobID)
            for frame in session.all { Self.feed(frame, into: &replayed) }
            let fresh = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            fresh.send(GatewayFrames.identify(bob, intents: intents))
            var ready = ChannelVisibility(userID: bobID)
            Self.feed(try await fresh.waitDispatch("GUILD_CREATE"), into: &ready)

            #expect(replayed.permissions(in: guild.id) == ready.permissions(in: guild.id))
            for channel in channels {
                #expect(replayed.canView(channel, in: guild.id) == ready.canView(channel, in: guild.id), "channel \(channel), seed \(seed)")
            }
            // And the server agrees with both.
            for channel in channels {
                let status = try await c.request(.GET, "/channels/\(channel)", token: bob).status
                #expect((status == 200) == ready.canView(channel, in: guild.id), "channel \(channel): \(status), seed \(seed)")
            }
            session.close()
            fresh.close()
        }
    }
}
