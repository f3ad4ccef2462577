/// What a gateway session needs from the user's cell(s) to send READY and the GUILD_CREATEs:
/// served by the cell's internal `GET /internal/gateway/ready`.
public struct ReadyState: Codable, Sendable, Equatable {
    public var user: User
    public var guilds: [GuildCreatePayload]
    /// The cell's outbox head, read before the state: every event after it is delivered live
    /// or read back, so nothing between READY and the subscription is lost.
    public var outboxSeq: Int64
    public var readStates: [ReadStateEntry]
    /// The user's DMs (from their home cell, which holds each one or its replica).
    public var privateChannels: [DMChannel]

    public init(user: User, guilds: [GuildCreatePayload], outboxSeq: Int64, readStates: [ReadStateEntry] = [], privateChannels: [DMChannel] = []) {
        self.user = user
        self.guilds = guilds
        self.outboxSeq = outboxSeq
        self.readStates = readStates
        self.privateChannels = privateChannels
    }
}
