/// READY's `d`, as Discord's gateway sends it. Encodable is the reference; `wireJSON` writes the
/// same bytes without the encoder, which was a tenth of the edge's CPU for an IDENTIFY (READY
/// and GUILD_CREATE's own part; `readyAndGuildCreatesOwnPartWriteTheEncodersBytes` holds them equal).
public struct ReadyPayload: Encodable, Sendable {
    public struct Unavailable: Encodable, Sendable { var id: Snowflake; var unavailable = true }
    public struct ApplicationStub: Encodable, Sendable { var id: Snowflake; var flags = 0 }
    public struct ReadStates: Encodable, Sendable {
        var version = 1
        var partial = false
        var entries: [ReadStateEntry]
    }

    var v = 10
    var user: CurrentUser
    var guilds: [Unavailable]
    var session_id: String
    var resume_gateway_url: String
    var session_type = "normal"
    var shard = [0, 1]
    var application: ApplicationStub?
    var private_channels: [DMChannel]
    var relationships: [JSONValue] = []
    var presences: [JSONValue] = []
    var user_settings: [String: JSONValue] = [:]
    var guild_join_requests: [JSONValue] = []
    var geo_ordered_rtc_regions: [String] = []
    var read_state: ReadStates

    /// A bot's READY names its application (its own id, as Discord's bots have).
    public init(user: User, guilds: [Snowflake], sessionID: String, resumeURL: String, bot: Bool,
                privateChannels: [DMChannel], readStates: [ReadStateEntry]) {
        self.user = CurrentUser(user)
        self.guilds = guilds.map { Unavailable(id: $0) }
        session_id = sessionID
        resume_gateway_url = resumeURL
        application = bot ? ApplicationStub(id: user.id) : nil
        private_channels = privateChannels
        read_state = ReadStates(entries: readStates)
    }

    /// As `WireJSON.encodeString(self)` writes it: keys sorted, nil application left out.
    public func wireJSON() throws -> String {
        var out = JSONBytes(capacity: 1024 + 64 * guilds.count + 96 * read_state.entries.count)
        out.raw("{")
        var first = true
        func key(_ name: StaticString) { out.key(name, first: first); first = false }
        if let application {
            key("application"); out.raw("{\"flags\":"); out.int(application.flags); out.raw(",\"id\":"); out.snowflake(application.id); out.raw("}")
        }
        key("geo_ordered_rtc_regions"); try out.encodedArray(geo_ordered_rtc_regions)
        key("guild_join_requests"); try out.encodedArray(guild_join_requests)
        key("guilds"); out.array(guilds) { out, guild in
            out.raw("{\"id\":"); out.snowflake(guild.id); out.raw(",\"unavailable\":"); out.bool(guild.unavailable); out.raw("}")
        }
        key("presences"); try out.encodedArray(presences)
        key("private_channels"); try out.encodedArray(private_channels)
        key("read_state")
        out.raw("{\"entries\":"); out.array(read_state.entries) { $1.write(into: &$0) }
        out.raw(",\"partial\":"); out.bool(read_state.partial); out.raw(",\"version\":"); out.int(read_state.version); out.raw("}")
        key("relationships"); try out.encodedArray(relationships)
        key("resume_gateway_url"); out.string(resume_gateway_url)
        key("session_id"); out.string(session_id)
        key("session_type"); out.string(session_type)
        key("shard"); out.array(shard) { $0.int($1) }
        key("user"); user.user.write(into: &out, ownerOnly: true)
        key("user_settings"); if user_settings.isEmpty { out.raw("{}") } else { try out.encoded(user_settings) }
        key("v"); out.int(v)
        out.raw("}")
        return String(decoding: out.bytes, as: UTF8.self)
    }
}

extension ReadStateEntry {
    func write(into out: inout JSONBytes) {
        out.raw("{")
        out.key("id", first: true); out.snowflake(id)
        out.key("last_message_id"); out.snowflake(last_message_id)
        out.key("last_pin_timestamp"); out.optionalString(last_pin_timestamp)
        out.key("mention_count"); out.int(mention_count)
        out.key("unread_count"); out.int(unread_count)
        out.raw("}")
    }
}
