import ConcordModels

/// What a draining edge writes for each of its sessions so that any other edge can RESUME it
/// exactly: the numbering, the frames kept for replay, and how far each cell's outbox had been
/// delivered to it (the new edge reads what came after from the outbox). Kept in the user's
/// home cell's Redis for the resume window; the token is not stored: RESUME brings it.
public struct HandedOverSession: Codable, Sendable, Equatable {
    public var userID: Snowflake
    public var isBot: Bool
    public var intents: Int
    public var sequence: Int64
    public var guilds: [Snowflake]
    /// Cell id → the highest outbox sequence delivered to this session.
    public var cursors: [String: Int64]
    /// Each frame whole (a record of an edge without the drain's shared table).
    public var frames: [KeptFrame]
    public var presence: PresenceState?
    /// The frames as references into the drain's table of bodies (see `HandOverTable`).
    public var shared: SharedFrames?

    /// The largest sequence a record is believed with: beyond any real session (a dispatch a
    /// microsecond for 285 years), and far enough from Int64's end that numbering on from it
    /// cannot overflow (a forged record of Int64.max would trap the edge at the next dispatch).
    public static let largestSequence: Int64 = 1 << 53

    public init(userID: Snowflake, isBot: Bool, intents: Int, sequence: Int64, guilds: [Snowflake],
                cursors: [String: Int64], frames: [KeptFrame], presence: PresenceState?, shared: SharedFrames? = nil) {
        self.userID = userID; self.isBot = isBot; self.intents = intents; self.sequence = sequence
        self.guilds = guilds; self.cursors = cursors; self.frames = frames; self.presence = presence; self.shared = shared
    }
}

/// A session's kept frames, numbered one after another from `firstSeq`, each a position in the
/// drain's table of bodies (stored once, under `table`, in the same Redis).
public struct SharedFrames: Codable, Sendable, Equatable {
    public var table: String
    public var firstSeq: Int64
    public var bodies: [Int]

    public init(table: String, firstSeq: Int64, bodies: [Int]) {
        (self.table, self.firstSeq, self.bodies) = (table, firstSeq, bodies)
    }
}

/// The bodies of the frames a drain hands over, each once: the sessions of a busy workspace
/// were sent the same few hundred bodies, and writing each session's frames whole wrote them
/// once per session (10,000 sessions with 150 unacknowledged frames each: about 500 MB into
/// Redis, and a drain past its deadline).
public struct HandOverTable: Sendable {
    private var positions: [ObjectIdentifier: Int] = [:]
    /// Held so that no body's identifier is reused while the table is built.
    private var held: [DispatchBody] = []
    public private(set) var bodies: [HandedOverBody] = []

    public init() {}

    mutating func position(of body: DispatchBody) -> Int {
        if let known = positions[ObjectIdentifier(body)] { return known }
        let position = bodies.count
        positions[ObjectIdentifier(body)] = position
        held.append(body)
        bodies.append(HandedOverBody(body))
        return position
    }
}

/// One body of a drain's table: a dispatch's type and data, or (`whole`) a frame handed over
/// whole before.
public struct HandedOverBody: Codable, Sendable, Equatable {
    public var type: String
    public var data: String
    public var whole: Bool?

    init(_ body: DispatchBody) {
        (type, data, whole) = (body.type, body.data, body.isWholeFrame ? true : nil)
    }

    public var dispatchBody: DispatchBody { whole == true ? DispatchBody(wholeFrame: data) : DispatchBody(type: type, data: data) }
}
