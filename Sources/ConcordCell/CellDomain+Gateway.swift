import ConcordModels
import ConcordStorage
import Foundation

extension CellDomain {
    /// The user and every workspace they are in, as GUILD_CREATE payloads. Workspaces above the
    /// large threshold carry only the user's own member object, as Discord does.
    /// `guildsOnly`: for a user homed in another cell — the workspaces (and read states) this
    /// cell holds for them; the edge merges them with the home cell's READY.
    public func readyState(_ caller: Caller, guildsOnly: Bool = false, largeThreshold: Int = CellDomain.largeThreshold) async throws -> ReadyState {
        let head = try await db.outboxHead()
        let user = guildsOnly ? User(id: caller.userID, username: "", globalName: nil, bot: caller.isBot) : try await currentUser(caller)
        var guilds: [GuildCreatePayload] = []
        var hidden: Set<Snowflake> = []
        for workspace in try await db.workspaces(memberID: caller.userID) {
            // Sessions identifying together (a thousand members after an edge restart) read the
            // workspace's roles, channels and count once, at or after the head each of them read.
            let shared = try await workspaceFlights.run("\(workspace.id) \(head)", remember: false) { [db] in
                SharedWorkspace(roles: try await db.roles(workspaceID: workspace.id), channels: try await db.channels(workspaceID: workspace.id),
                                memberCount: try await db.memberCount(workspaceID: workspace.id))
            }
            let count = shared.memberCount
            let large = count > largeThreshold
            let members = large
                ? try await db.members(workspaceID: workspace.id, userIDs: [caller.userID])
                : try await db.members(workspaceID: workspace.id, after: Snowflake(0), limit: largeThreshold)
            let own = members.first { $0.user.id == caller.userID }
            let channels = shared.channels
            if let access = try await db.workspaceAccess(id: workspace.id, userID: caller.userID) {
                hidden.formUnion(Self.hiddenChannels(channels, access: access))
            }
            var payload = GuildCreatePayload(guild: Presenter.guild(workspace, roles: shared.roles),
                                             channels: channels,
                                             members: members.map { Presenter.member($0, withUser: true) }, memberCount: count,
                                             joinedAt: own.map { DiscordTimestamp.string(from: $0.joinedAt) }, large: large)
            // As Discord: presences of the members online, for workspaces that are not large
            // (large ones send them only on REQUEST_GUILD_MEMBERS).
            if !large {
                payload.presences = try await presenceList(of: members.map(\.user.id).filter { $0 != caller.userID }, guild: workspace.id)
            }
            guilds.append(payload)
        }
        return ReadyState(user: user, guilds: guilds, outboxSeq: head, readStates: try await readStates(caller, hidden: hidden),
                          privateChannels: guildsOnly ? [] : try await dmChannels(caller))
    }

    /// Waits (up to `limit`) until every outbox row committed before the call has its sequence
    /// number, so a session's read-back holds everything acknowledged before it asked: a message
    /// posted just before a RESUME is replayed before RESUMED, not delivered live after it.
    public func settleOutbox(limit: Duration = .seconds(2)) async throws {
        guard let horizon = try await db.newestUnsequencedOutboxID() else { return }
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while clock.now < deadline {
            signal.wake()
            try await Task.sleep(for: .milliseconds(5))
            if !(try await db.hasUnsequencedOutbox(through: horizon)) { return }
        }
    }

    /// A user homed here, as other cells copy it (no password, no tokens).
    public func profile(_ id: Snowflake) async throws -> User {
        guard id.cell == cellID, let user = try await db.user(id: id) else { throw APIError.unknownUser }
        return user
    }

    /// Keeps the copy of a user homed in another cell (an edge brings it before the user joins
    /// a workspace here).
    public func storeReplica(_ user: User, id: Snowflake) async throws {
        guard user.id == id, id.cell != cellID else { throw APIError.invalidForm(.single(["id"], code: "BASE_TYPE_INVALID", message: "Not a user of another cell")) }
        try await db.upsertReplica(user, homeCell: id.cell)
    }
}

/// What every member's READY reads the same of a workspace.
struct SharedWorkspace: Sendable {
    var roles: [Role]
    var channels: [GuildChannel]
    var memberCount: Int
}
