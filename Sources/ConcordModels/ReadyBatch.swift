/// READY's states for sessions identifying together, as a cell sends them to an edge: what a
/// workspace's GUILD_CREATE shows every member alike (the guild, its roles and channels, its
/// count, and a small workspace's member list) is written once for the batch, and each state
/// carries only its own part (joined_at, a large workspace's own member object, the presences
/// of the others). A thousand members identifying after an edge restart cost one encoding and
/// one decoding of their workspace per batch, not one per member, and the states decoded from a
/// batch share their workspaces' arrays.
public struct ReadyBatch: Codable, Sendable {
    var workspaces: [GuildCreatePayload]
    var states: [State?]

    struct State: Codable, Sendable {
        var user: User
        var guilds: [GuildPart]
        var outboxSeq: Int64
        var readStates: [ReadStateEntry]
        var privateChannels: [DMChannel]
    }

    /// A state's GUILD_CREATE: its workspace entry with what differs for this member.
    struct GuildPart: Codable, Sendable {
        var workspace: Int
        var joined_at: String?
        /// nil: the entry's.
        var members: [Member]?
        /// nil: the entry's.
        var presences: [JSONValue]?
    }

    public init(_ states: [ReadyState?]) {
        var workspaces: [GuildCreatePayload] = []
        var entries: [Snowflake: [Int]] = [:]
        self.states = states.map { state in
            state.map { state in
                let parts = state.guilds.map { guild in
                    let known = entries[guild.guild.id, default: []].first { workspaces[$0].sharesWorkspace(with: guild) }
                    let index = known ?? workspaces.count
                    if known == nil {
                        workspaces.append(guild)
                        entries[guild.guild.id, default: []].append(index)
                    }
                    let entry = workspaces[index]
                    return GuildPart(workspace: index, joined_at: guild.joined_at, members: guild.members == entry.members ? nil : guild.members,
                                     presences: guild.presences == entry.presences ? nil : guild.presences)
                }
                return State(user: state.user, guilds: parts, outboxSeq: state.outboxSeq, readStates: state.readStates,
                             privateChannels: state.privateChannels)
            }
        }
        self.workspaces = workspaces
    }

    /// As `WireJSON.encode(self)` writes it. Each state is written without the encoder, which
    /// was a tenth of a cell's CPU for an IDENTIFY; the batch's workspaces, one per workspace
    /// whatever the batch's size, still go through it.
    public func wireJSON() throws -> [UInt8] {
        var out = JSONBytes(capacity: 512 * states.count + 2048 * workspaces.count)
        out.raw("{\"states\":")
        try out.array(states) { out, state in
            if let state { try state.write(into: &out) } else { out.raw("null") }
        }
        out.raw(",\"workspaces\":")
        try out.encodedArray(workspaces)
        out.raw("}")
        return out.bytes
    }

    /// The states as the cell read them, each GUILD_CREATE whole again.
    public func readyStates() throws -> [ReadyState?] {
        try states.map { state in
            try state.map { state in
                let guilds = try state.guilds.map { part in
                    guard workspaces.indices.contains(part.workspace) else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "No workspace entry \(part.workspace)")) }
                    var guild = workspaces[part.workspace]
                    guild.joined_at = part.joined_at
                    if let members = part.members { guild.members = members }
                    if let presences = part.presences { guild.presences = presences }
                    return guild
                }
                return ReadyState(user: state.user, guilds: guilds, outboxSeq: state.outboxSeq, readStates: state.readStates,
                                  privateChannels: state.privateChannels)
            }
        }
    }
}

extension ReadyBatch.State {
    func write(into out: inout JSONBytes) throws {
        out.raw("{")
        out.key("guilds", first: true)
        try out.array(guilds) { out, part in
            out.raw("{")
            // A nil joined_at is written as null (`NullEncoding`), a nil array left out.
            out.key("joined_at", first: true); out.optionalString(part.joined_at)
            if let members = part.members { out.key("members"); out.array(members) { $1.write(into: &$0) } }
            if let presences = part.presences { out.key("presences"); try out.encodedArray(presences) }
            out.key("workspace"); out.int(part.workspace)
            out.raw("}")
        }
        out.key("outboxSeq"); out.int(outboxSeq)
        out.key("privateChannels"); try out.encodedArray(privateChannels)
        out.key("readStates"); out.array(readStates) { $1.write(into: &$0) }
        out.key("user"); user.write(into: &out)
        out.raw("}")
    }
}
