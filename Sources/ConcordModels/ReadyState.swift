/// What a gateway session needs from the user's cell(s) to send READY and the GUILD_CREATEs:
/// served by the cell's internal `GET /internal/gateway/ready`.
public struct ReadyState: Codable, Sendable, Equatable {
    public var user: User
    public var guilds: [GuildCreatePayload]

    public init(user: User, guilds: [GuildCreatePayload]) {
        self.user = user
        self.guilds = guilds
    }
}
