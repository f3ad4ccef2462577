import ConcordModels
import Synchronization

/// GUILD_CREATE's JSON for sessions identifying into the same workspaces: what every member
/// sees alike is encoded once and kept while the workspace shows the same, and each session's
/// GUILD_CREATE is that object with its own part (joined_at, members, presences) joined on.
/// In a 1,000-session join, encoding GUILD_CREATE whole per session was a tenth of the edge's CPU.
public final class GuildCreateEncodings: Sendable {
    private struct Encoded: Sendable {
        var payload: GuildCreatePayload
        /// The common part's JSON without its closing brace, and a comma: what every member's
        /// GUILD_CREATE begins with, one string for all of them.
        var head: String
    }

    private let latest = Mutex<[Snowflake: Encoded]>([:])
    /// Workspaces remembered at most; past it the memory starts over (it is only a saving).
    let capacity: Int

    public init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// The payload as a GUILD_CREATE's body: the same object `WireJSON.encode` makes (its keys
    /// in another order), its workspace's part shared with every other member's body.
    public func body(_ payload: GuildCreatePayload) throws -> DispatchBody {
        let head = try remembered(payload) ?? remember(payload)
        // Two JSON objects, each with members, joined into one: the second without its opening brace.
        let own = try payload.own.wireJSON()
        return DispatchBody(type: "GUILD_CREATE", head: head, tail: String(own.dropFirst()))
    }

    private func remembered(_ payload: GuildCreatePayload) -> String? {
        // What is kept is already without anybody's own part.
        guard let encoded = latest.withLock({ $0[payload.guild.id] }), encoded.payload == payload.withoutOwnPart else { return nil }
        return encoded.head
    }

    private func remember(_ payload: GuildCreatePayload) throws -> String {
        var head = try WireJSON.encodeString(payload.common)
        head.removeLast()
        head += ","
        latest.withLock { [head] latest in
            if latest[payload.guild.id] == nil, latest.count >= capacity { latest.removeAll() }
            // Nobody's own part stays behind.
            latest[payload.guild.id] = Encoded(payload: payload.withoutOwnPart, head: head)
        }
        return head
    }
}
