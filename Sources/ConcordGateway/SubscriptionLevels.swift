import ConcordModels
import Foundation

/// Concord's gateway extension for large workspaces (the QChat model): op 40
/// CHANNEL_SUBSCRIPTIONS lets a session say, per channel or per workspace, how much it wants.
///
///     {"op":40,"d":{"guild_id":"…","default":"counts","channels":{"<channel id>":"full"}}}
///
/// - `full`: every event, as Discord sends them (the channel on screen).
/// - `counts`: instead of MESSAGE_CREATE, a compact CHANNEL_UNREAD_UPDATE
///   `{guild_id, channel_id, message_id, seq, mention_delta}`; no edits, deletions or typing.
/// - `flag`: one CHANNEL_UNREAD `{guild_id, channel_id, message_id}` when the channel turns
///   unread, then nothing until the user reads it (a MESSAGE_ACK for that channel).
///
/// Sessions that never send op 40 get Discord's behaviour, and so does every session in a
/// workspace that is not large (at most large_threshold members): levels apply to large ones.
public enum SubscriptionLevel: String, Codable, Sendable {
    case full, counts, flag
}

/// Op 40's `d`.
public struct ChannelSubscriptionsPayload: Decodable, Sendable, Equatable {
    public var guild_id: Snowflake
    public var `default`: SubscriptionLevel?
    public var channels: [String: SubscriptionLevel]?

    public init(guild_id: Snowflake, default level: SubscriptionLevel? = nil, channels: [String: SubscriptionLevel]? = nil) {
        self.guild_id = guild_id
        self.default = level
        self.channels = channels
    }
}

/// One session's levels and the channels it has already been told are unread.
public struct SubscriptionLevels: Sendable, Equatable {
    private var defaults: [Snowflake: SubscriptionLevel] = [:]
    private var channels: [Snowflake: SubscriptionLevel] = [:]
    private var flagged: Set<Snowflake> = []
    /// Workspaces above the large threshold: the only ones where levels apply.
    public var largeGuilds: Set<Snowflake> = []

    public init() {}

    /// What one session may ask for at most: more than any workspace it is in has channels,
    /// and a bound however many op 40 frames a client sends.
    public static let maximumChannels = 10_000
    public static let maximumGuilds = 1_000

    public mutating func apply(_ payload: ChannelSubscriptionsPayload) {
        if let level = payload.default, defaults[payload.guild_id] != nil || defaults.count < Self.maximumGuilds {
            defaults[payload.guild_id] = level
        }
        for (id, level) in payload.channels ?? [:] {
            guard let channel = Snowflake(id), channels[channel] != nil || channels.count < Self.maximumChannels else { continue }
            channels[channel] = level
        }
    }

    /// How many channel levels the session holds.
    public var channelCount: Int { channels.count }

    public func level(guild: Snowflake, channel: Snowflake) -> SubscriptionLevel {
        // Most sessions never ask for levels, even in large workspaces: no hashing for them.
        guard !channels.isEmpty || !defaults.isEmpty, !largeGuilds.isEmpty, largeGuilds.contains(guild) else { return .full }
        return channels[channel] ?? defaults[guild] ?? .full
    }

    /// What a session at these levels receives for an event: the event itself, a compact
    /// replacement, or nothing.
    public enum Outcome: Equatable, Sendable {
        case deliver
        case replace(type: String, data: String)
        case drop
    }

    /// `facts` are read from the event only when a lighter level needs them, which in most
    /// deliveries (full level, small workspaces) is never.
    public mutating func outcome(type: String, guild: Snowflake?, channel: Snowflake?, seq: Int64,
                                 user: Snowflake?, facts: inout MessageFacts) -> Outcome {
        // Only a session told of an unread channel has anything to forget (the string comparison
        // waits for one: it is made for every session an event goes to).
        if !flagged.isEmpty, type == "MESSAGE_ACK", let channel { flagged.remove(channel); return .deliver }
        guard let guild, let channel else { return .deliver }
        let level = level(guild: guild, channel: channel)
        guard level != .full else { return .deliver }
        switch type {
        case "MESSAGE_CREATE":
            let id = facts.id?.description ?? "0"
            if level == .counts {
                let mentioned = user.map { facts.mentions($0) } ?? false
                return .replace(type: "CHANNEL_UNREAD_UPDATE", data: #"{"guild_id":"\#(guild)","channel_id":"\#(channel)","message_id":"\#(id)","seq":\#(seq),"mention_delta":\#(mentioned ? 1 : 0)}"#)
            }
            guard flagged.insert(channel).inserted else { return .drop }
            return .replace(type: "CHANNEL_UNREAD", data: #"{"guild_id":"\#(guild)","channel_id":"\#(channel)","message_id":"\#(id)"}"#)
        case "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK", "TYPING_START":
            return .drop
        default:
            return .deliver
        }
    }
}

/// What the levels need to know of a MESSAGE_CREATE, parsed from its payload once per edge, on
/// first use.
public struct MessageFacts: Sendable {
    private let payload: String
    private var parsed: (id: Snowflake?, mentionIDs: Set<Snowflake>, mentionEveryone: Bool)?

    public init(payload: String) { self.payload = payload }

    public var id: Snowflake? { mutating get { facts().id } }

    public mutating func mentions(_ user: Snowflake) -> Bool {
        let f = facts()
        return f.mentionEveryone || f.mentionIDs.contains(user)
    }

    private mutating func facts() -> (id: Snowflake?, mentionIDs: Set<Snowflake>, mentionEveryone: Bool) {
        if let parsed { return parsed }
        let value = try? WireJSON.decode(JSONValue.self, from: Data(payload.utf8))
        let facts = (id: value?["id"]?.stringValue.flatMap(Snowflake.init),
                     mentionIDs: Set(value?["mentions"]?.arrayValue?.compactMap { $0["id"]?.stringValue.flatMap(Snowflake.init) } ?? []),
                     mentionEveryone: value?["mention_everyone"] == .bool(true))
        parsed = facts
        return facts
    }
}
