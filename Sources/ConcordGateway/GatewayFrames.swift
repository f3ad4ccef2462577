import ConcordModels
import Foundation

/// A payload from a client: `{"op":…,"d":…}` (s and t are ignored on the way in). `d` is
/// decoded once, straight into the shape its opcode gives it (not into a JSON tree first and
/// then again from that tree's encoding).
public struct ClientFrame: Decodable, Sendable {
    public var op: Int
    public var d: Payload

    /// `d` as its opcode reads it; nil where it is missing or not of that shape.
    public enum Payload: Sendable {
        case identify(IdentifyPayload?)
        case resume(ResumePayload?)
        case requestGuildMembers(RequestGuildMembersPayload?)
        case channelSubscriptions(ChannelSubscriptionsPayload?)
        case presenceUpdate(IdentifyPayload.Presence?)
        /// Any other opcode's, as JSON (a heartbeat's sequence).
        case value(JSONValue?)
    }

    private enum Keys: String, CodingKey { case op, d }

    /// A heartbeat (`{"op":1,"d":<sequence or null>}`), read without the decoder: every session
    /// sends one each interval, and the decoder, trying `d` as each JSON type in turn, spent more
    /// on it than the rest of the heartbeat together. Nil for any other frame, or a heartbeat
    /// written otherwise (a float, a key twice): the decoder reads those.
    /// `heartbeatsReadAsTheDecoderReadsThem` holds the two equal.
    public init?(heartbeat bytes: [UInt8]) {
        var reader = JSONReader(bytes)
        var op: Int?, sequence: Int64?
        do {
            try reader.object { reader, key in
                switch key {
                case "op": op = try reader.int()
                case "d": sequence = reader.null() ? nil : Int64(try reader.int())
                default: _ = try reader.skipValue()
                }
            }
        } catch {
            return nil
        }
        guard reader.atEnd(), let op, op == GatewayOpcode.heartbeat.rawValue else { return nil }
        self.op = op
        d = .value(sequence.map(JSONValue.int))
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        op = try c.decode(Int.self, forKey: .op)
        switch GatewayOpcode(rawValue: op) {
        case .identify?: d = .identify(try? c.decode(IdentifyPayload.self, forKey: .d))
        case .resume?: d = .resume(try? c.decode(ResumePayload.self, forKey: .d))
        case .requestGuildMembers?: d = .requestGuildMembers(try? c.decode(RequestGuildMembersPayload.self, forKey: .d))
        case .channelSubscriptions?: d = .channelSubscriptions(try? c.decode(ChannelSubscriptionsPayload.self, forKey: .d))
        case .presenceUpdate?: d = .presenceUpdate(try? c.decode(IdentifyPayload.Presence.self, forKey: .d))
        default: d = .value(try c.decodeIfPresent(JSONValue.self, forKey: .d))
        }
    }
}

/// IDENTIFY's `d`.
public struct IdentifyPayload: Decodable, Sendable, Equatable {
    public struct Presence: Decodable, Sendable, Equatable {
        public var status: String?
        public var afk: Bool?
        public var activities: [Activity]?

        public struct Activity: Decodable, Sendable, Equatable {
            public var type: Int?
            public var name: String?
            public var state: String?
        }

        /// The presence it asks for: unknown statuses count as online; a custom status is the
        /// state of an activity of type 4.
        public var state: PresenceState {
            let custom = activities?.first { $0.type == 4 }.flatMap { $0.state ?? $0.name }
            return PresenceState(status: status.flatMap(PresenceStatus.init(rawValue:)).map { $0 == .offline ? .invisible : $0 } ?? .online,
                                 customStatus: custom.map { String($0.prefix(128)) })
        }
    }
    public var token: String
    public var intents: Int
    public var large_threshold: Int?
    public var presence: Presence?
    public var compress: Bool?
}

/// RESUME's `d`.
public struct ResumePayload: Decodable, Sendable, Equatable {
    public var token: String
    /// Null from a library that lost its session before READY (py-cord after a refused
    /// IDENTIFY): answered with op 9 as an unknown session is, so the library identifies anew.
    public var session_id: String?
    public var seq: Int64?
}

/// REQUEST_GUILD_MEMBERS's `d`.
public struct RequestGuildMembersPayload: Decodable, Sendable, Equatable {
    public var guild_id: Snowflake
    public var query: String?
    public var limit: Int?
    public var presences: Bool?
    public var user_ids: [Snowflake]?
    public var nonce: String?
}

/// Builds server frames as text. Dispatch data arrives already serialized (once per edge),
/// so frames are assembled by splicing, not by re-encoding.
public enum ServerFrame {
    public static func hello(interval: Duration) -> String {
        #"{"op":10,"d":{"heartbeat_interval":\#(interval.wholeMilliseconds)},"s":null,"t":null}"#
    }
    public static let heartbeatAck = #"{"op":11,"d":null,"s":null,"t":null}"#
    public static let heartbeatRequest = #"{"op":1,"d":null,"s":null,"t":null}"#
    public static let reconnect = #"{"op":7,"d":null,"s":null,"t":null}"#
    public static func invalidSession(resumable: Bool) -> String {
        #"{"op":9,"d":\#(resumable),"s":null,"t":null}"#
    }
    public static func dispatch(_ type: String, seq: Int64, data: String) -> String {
        #"{"op":0,"d":\#(data),"s":\#(seq),"t":"\#(type)"}"#
    }
}

/// A dispatch's type and data, made once per event and shared by every session it goes to:
/// sessions keep a reference in their resume buffers, not a copy each.
public final class DispatchBody: Sendable {
    public let type: String
    /// The data's text is `head` then `tail`: a GUILD_CREATE's head is its workspace's part,
    /// one string shared by every member's body, and its tail the member's own. (A body kept
    /// until the client acknowledges it is then mostly a reference, not a copy per session:
    /// copies living a heartbeat among the sessions' lasting objects left the heap in pieces.)
    let head: String
    let tail: String
    /// A frame another edge handed over, kept as its whole text (`data`), number and all.
    let isWholeFrame: Bool

    public init(type: String, data: String) {
        (self.type, head, tail, isWholeFrame) = (type, data, "", false)
    }

    /// Data whose text is `head` followed by `tail`.
    public init(type: String, head: String, tail: String) {
        (self.type, self.head, self.tail, isWholeFrame) = (type, head, tail, false)
    }

    init(wholeFrame: String) {
        (type, head, tail, isWholeFrame) = ("", wholeFrame, "", true)
    }

    /// The data as one string (made, where it has two parts).
    public var data: String { tail.isEmpty ? head : head + tail }

    var dataByteCount: Int { head.utf8.count + tail.utf8.count }
}

/// One numbered dispatch of one session. The event's data is one string shared by every session
/// it goes to; a session's frame differs only by its sequence number, so the frame is spliced
/// where it is written (or replayed), and sessions keep the shared body, not a copy each.
public struct Dispatch: Sendable, Equatable {
    public var seq: Int64
    public let body: DispatchBody
    public var type: String { body.type }
    public var data: String { body.data }

    public init(seq: Int64, type: String, data: String) {
        self.init(seq: seq, body: DispatchBody(type: type, data: data))
    }

    public init(seq: Int64, body: DispatchBody) {
        self.seq = seq
        self.body = body
    }

    public static func == (a: Dispatch, b: Dispatch) -> Bool {
        a.seq == b.seq && a.type == b.type && a.data == b.data
    }

    /// The frame's text, as `ServerFrame.dispatch` splices it.
    public var frame: String { ServerFrame.dispatch(type, seq: seq, data: data) }

    /// The frame's length in UTF-8 bytes, without splicing it.
    public var byteCount: Int { Self.framing + type.utf8.count + body.dataByteCount + Self.decimalDigits(seq) }

    /// How many characters `String(n)` has, without making it.
    public static func decimalDigits(_ n: Int64) -> Int {
        guard n >= 0 else { return String(n).utf8.count }
        var (rest, digits) = (n, 1)
        while rest >= 10 { rest /= 10; digits += 1 }
        return digits
    }

    /// `{"op":0,"d":` + `,"s":` + `,"t":"` + `"}`.
    static let framing = 12 + 5 + 6 + 2

    /// The frame's pieces in order, for writing it without making its text first: `text` takes
    /// the text pieces, `number` the sequence number where it goes.
    public func withPieces(text: (String) -> Void, number: (Int64) -> Void) {
        text(#"{"op":0,"d":"#)
        text(body.head)
        if !body.tail.isEmpty { text(body.tail) }
        text(#","s":"#)
        number(seq)
        text(#","t":""#)
        text(type)
        text(#""}"#)
    }
}
