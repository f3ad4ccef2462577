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
    public var frames: [KeptFrame]
    public var presence: PresenceState?

    public init(userID: Snowflake, isBot: Bool, intents: Int, sequence: Int64, guilds: [Snowflake],
                cursors: [String: Int64], frames: [KeptFrame], presence: PresenceState?) {
        self.userID = userID; self.isBot = isBot; self.intents = intents; self.sequence = sequence
        self.guilds = guilds; self.cursors = cursors; self.frames = frames; self.presence = presence
    }
}
