import ConcordModels
import Synchronization

/// GUILD_CREATE's JSON for sessions identifying into the same workspaces: what every member
/// sees alike is encoded once and kept while the workspace shows the same, and each session's
/// GUILD_CREATE is that object with its own part (joined_at, members, presences) joined in.
/// In a 1,000-session join, encoding GUILD_CREATE whole per session was a tenth of the edge's CPU.
public final class GuildCreateEncodings: Sendable {
    private struct Encoded: Sendable {
        var payload: GuildCreatePayload
        var common: String
    }

    private let latest = Mutex<[Snowflake: Encoded]>([:])
    /// Workspaces remembered at most; past it the memory starts over (it is only a saving).
    let capacity: Int

    public init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// The payload's JSON, the same object `WireJSON.encode` makes (its keys in another order).
    public func json(_ payload: GuildCreatePayload) throws -> String {
        let common = try remembered(payload) ?? remember(payload)
        let own = try WireJSON.encodeString(payload.own)
        // Two JSON objects, each with members, joined into one (String's own append of a
        // Substring copies its UTF-8; `+` would go Character by Character).
        var json = common
        json.removeLast()
        json += ","
        json.append(contentsOf: own.dropFirst())
        return json
    }

    private func remembered(_ payload: GuildCreatePayload) -> String? {
        // What is kept is already without anybody's own part.
        guard let encoded = latest.withLock({ $0[payload.guild.id] }), encoded.payload == payload.withoutOwnPart else { return nil }
        return encoded.common
    }

    private func remember(_ payload: GuildCreatePayload) throws -> String {
        let common = try WireJSON.encodeString(payload.common)
        latest.withLock { latest in
            if latest[payload.guild.id] == nil, latest.count >= capacity { latest.removeAll() }
            // Nobody's own part stays behind.
            latest[payload.guild.id] = Encoded(payload: payload.withoutOwnPart, common: common)
        }
        return common
    }
}
