import Foundation

/// A state change's event, written to the outbox in the transaction that made the change.
/// `payload` is the dispatch's `d` as JSON text, serialized once in the cell.
public struct PendingEvent: Sendable, Equatable {
    public var type: String
    public var guildID: Snowflake?
    public var channelID: Snowflake?
    /// For events addressed to one user (e.g. a GUILD_CREATE when they join).
    public var userID: Snowflake?
    public var payload: String
    /// The request that caused it (`RequestID`): by default the one being answered.
    public var requestID: String?

    public init(type: String, guildID: Snowflake?, channelID: Snowflake?, userID: Snowflake? = nil, payload: String,
                requestID: String? = RequestID.current) {
        self.type = type
        self.guildID = guildID
        self.channelID = channelID
        self.userID = userID
        self.payload = payload
        self.requestID = requestID
    }
}

/// An outbox row after the cell's sequencer gave it its place in the cell's sequence.
public struct OutboxEvent: Sendable, Equatable {
    public var seq: Int64
    public var event: PendingEvent

    public init(seq: Int64, event: PendingEvent) {
        self.seq = seq
        self.event = event
    }

    /// The message published on Redis and served to consumers reading back:
    /// `{"seq":…,"t":…,"guild_id":…,"channel_id":…,"user_id":…,"d":…}`, with `d` spliced in as stored.
    public var wireJSON: String { Self.wireJSON(seq: seq, event: event) }

    /// Ephemeral events (typing) go out with `"seq":null`: they are not in the outbox. With
    /// `requestID`, the event carries its request's id as `"rid"` (for followers such as relays;
    /// what edges are published has no need of it).
    public static func wireJSON(seq: Int64?, event: PendingEvent, requestID: Bool = false) -> String {
        func id(_ s: Snowflake?) -> String { s.map { "\"\($0)\"" } ?? "null" }
        let seqText = seq.map(String.init) ?? "null"
        let rid = requestID ? (event.requestID.flatMap { try? WireJSON.encodeString($0) }.map { ",\"rid\":" + $0 } ?? "") : ""
        return "{\"seq\":\(seqText),\"t\":\"\(event.type)\",\"guild_id\":\(id(event.guildID)),\"channel_id\":\(id(event.channelID)),\"user_id\":\(id(event.userID))\(rid),\"d\":\(event.payload)}"
    }

    /// Parses `wireJSON` back (edges and tests). Ephemeral events (`"seq":null`) get seq 0.
    public init?(wireJSON: [UInt8]) {
        guard (try? JSONSyntax.check(wireJSON)) != nil, let event = Self(wireJSON, 0..<wireJSON.count) else { return nil }
        self = event
    }

    /// A JSON array of `wireJSON` objects (an outbox page), each payload kept as written.
    public static func page(wireJSON: Data) throws -> [OutboxEvent] {
        let bytes = Array(wireJSON)
        try JSONSyntax.check(bytes)
        guard let elements = JSONMembers.array(bytes) else { throw JSONSyntax.Problem.invalid }
        return try elements.map { try Self(bytes, $0) ?? { throw JSONSyntax.Problem.invalid }() }
    }

    /// One `wireJSON` object in `bytes` (valid JSON): the envelope is decoded without its
    /// payload, which is carried on as its text.
    private init?(_ bytes: [UInt8], _ range: Range<Int>) {
        guard let members = JSONMembers.object(bytes, range),
              let payload = members.first(where: { JSONMembers.key($0, in: bytes, is: "d") }) else { return nil }
        guard let e = Envelope(plain: bytes, members, payload: payload) ?? Envelope(decoding: bytes, members, payload: payload) else { return nil }
        self.init(seq: e.seq ?? 0, event: PendingEvent(type: e.t, guildID: e.guild_id, channelID: e.channel_id, userID: e.user_id,
                                                       payload: String(decoding: bytes[payload.value], as: UTF8.self),
                                                       requestID: e.rid.flatMap { RequestID.isSound($0) ? $0 : nil }))
    }

    /// The envelope's fields beside the payload.
    struct Envelope: Decodable, Equatable {
        var seq: Int64?; var t: String; var guild_id: Snowflake?; var channel_id: Snowflake?; var user_id: Snowflake?; var rid: String?
    }
}

/// Redis topic names, shared by the cell that publishes and the edges that subscribe.
/// Durable followers of a cell's outbox (relays) keep a cursor there under this name.
public enum OutboxFollower {
    public static func consumer(_ follower: String) -> String { "follower:" + follower }
    /// The name a relay into `destination` follows by.
    public static func relay(into destination: String) -> String { "relay-" + destination }
}

public enum Topics {
    public static func workspace(_ id: Snowflake, cell: String) -> String { "concord:\(cell):guild:\(id)" }
    public static func user(_ id: Snowflake, cell: String) -> String { "concord:\(cell):user:\(id)" }
    /// Where an event is published: its user's topic when addressed to one user, else its workspace's.
    public static func of(_ event: PendingEvent, cell: String) -> String {
        if let id = event.userID { return user(id, cell: cell) }
        if let guild = event.guildID { return workspace(guild, cell: cell) }
        return "concord:\(cell):cell"
    }
    /// The cell's outbox position after each published batch (relays wake on it).
    public static func outbox(cell: String) -> String { "concord:\(cell):outbox" }
    /// The same position, published only when the batch holds events for cell `destination`'s
    /// relay (a channel shared there, a DM with someone homed there): the relay wakes on this.
    public static func relayWake(cell: String, destination: Int) -> String { "concord:\(cell):outbox:for:\(destination)" }
    /// Announces that the workspace directory changed (a move): edges reload it.
    public static func directory(cell: String) -> String { "concord:\(cell):directory" }
    /// Online users' presence expiry times (a sorted set, Unix ms) and chosen states (a hash).
    public static func presenceExpiry(cell: String) -> String { "concord:\(cell):presence:expiry" }
    public static func presenceState(cell: String) -> String { "concord:\(cell):presence:state" }
    /// The users a workspace's members see online, for counts without scanning members.
    public static func presenceOnline(_ guild: Snowflake, cell: String) -> String { "concord:\(cell):presence:online:\(guild)" }
    /// A drained gateway session's resume state, in its user's home cell's Redis.
    public static func handedOverSession(_ sessionID: String, cell: String) -> String { "concord:\(cell):resume:\(sessionID)" }
    /// The bodies of the frames one drain handed over, each once, for its sessions of that cell.
    public static func handedOverBodies(_ drain: String, cell: String) -> String { "concord:\(cell):resume-bodies:\(drain)" }
    /// Where the cell keeps the ids of revoked tokens, checked by edges on every request.
    /// Per cell, like every other key: cells sharing one Redis (tests) keep apart.
    public static func revokedTokens(cell: String) -> String { "concord:\(cell):revoked-tokens" }
    /// Set once the cell has copied every revoked token id into that set: without it (a flushed
    /// or new Redis) edges refuse tokens rather than take an empty set as "none revoked".
    public static func revokedTokensLoaded(cell: String) -> String { "concord:\(cell):revoked-tokens:complete" }
    /// A bot's IDENTIFYs today (session_start_limit), and the 5-second gate of max_concurrency.
    public static func sessionStarts(_ user: Snowflake, cell: String) -> String { "concord:\(cell):session-starts:\(user)" }
    public static func identifyGate(_ user: Snowflake, cell: String) -> String { "concord:\(cell):identify-gate:\(user)" }
    /// A user's request count in one rate-limit window (the global one, or a route's with its
    /// major parameter), shared by every edge.
    public static func rateLimit(_ user: Snowflake, bucket: String, cell: String) -> String { "concord:\(cell):ratelimit:\(user):\(bucket)" }
    /// Revoked token ids, comma-separated, as they are revoked: edges close their live sessions.
    public static func revocations(cell: String) -> String { "concord:\(cell):revocations" }
}

extension OutboxEvent.Envelope {
    /// The envelope's members (all but the payload) as one object, read by the decoder.
    init?(decoding bytes: [UInt8], _ members: [JSONMembers.Member], payload: JSONMembers.Member) {
        var envelope: [UInt8] = [UInt8(ascii: "{")]
        for member in members where member != payload {
            if envelope.count > 1 { envelope.append(UInt8(ascii: ",")) }
            envelope.append(contentsOf: bytes[(member.key.lowerBound - 1)..<member.value.upperBound])
        }
        envelope.append(UInt8(ascii: "}"))
        guard let decoded = try? WireJSON.decode(Self.self, from: Data(envelope)) else { return nil }
        self = decoded
    }

    /// The envelope read from its members' text by `JSONReader`, without the decoder: every
    /// event an edge or a relay takes in is read so. Nil for anything the reader does not take
    /// (a number as an id, a float as seq, a key twice or written with an escape): the decoder reads it,
    /// and refuses what it must. `plainEnvelopesReadAsTheDecoderReadsThem` holds the two equal.
    init?(plain bytes: [UInt8], _ members: [JSONMembers.Member], payload: JSONMembers.Member) {
        var seq: Int64?, type: String?, guild: Snowflake?, channel: Snowflake?, user: Snowflake?, rid: String?
        var keys: [ArraySlice<UInt8>] = []
        for member in members where member != payload {
            // A key written with an escape may name a field the comparisons below would miss.
            guard !bytes[member.key].contains(UInt8(ascii: "\\")), !keys.contains(bytes[member.key]) else { return nil }
            keys.append(bytes[member.key])
            var reader = JSONReader(bytes, at: member.value.lowerBound)
            func id() throws -> Snowflake? { reader.null() ? nil : try reader.snowflake() }
            do {
                if JSONMembers.key(member, in: bytes, is: "seq") { seq = reader.null() ? nil : Int64(try reader.int()) }
                else if JSONMembers.key(member, in: bytes, is: "t") { type = try reader.string() }
                else if JSONMembers.key(member, in: bytes, is: "guild_id") { guild = try id() }
                else if JSONMembers.key(member, in: bytes, is: "channel_id") { channel = try id() }
                else if JSONMembers.key(member, in: bytes, is: "user_id") { user = try id() }
                else if JSONMembers.key(member, in: bytes, is: "rid") { rid = try reader.optionalString() }
                else { continue }
            } catch {
                return nil
            }
            guard reader.at == member.value.upperBound else { return nil }
        }
        guard let type else { return nil }
        self.init(seq: seq, t: type, guild_id: guild, channel_id: channel, user_id: user, rid: rid)
    }
}
