import ConcordModels
import ConcordStorage
import Foundation

extension CellDomain {
    /// READY's state for sessions identifying together (the edge batches them): each user and
    /// every workspace they are in, as GUILD_CREATE payloads, from one read of each kind for the
    /// whole batch. Workspaces above the large threshold carry only the user's own member
    /// object, as Discord does. A request with `guildsOnly` is for a user homed in another cell:
    /// the workspaces (and read states) this cell holds for them; the edge merges them with the
    /// home cell's READY. A full request whose user is not here is answered nil.
    public func readyStates(_ requests: [ReadyRequest], largeThreshold: Int = CellDomain.largeThreshold) async throws -> [ReadyState?] {
        let head = try await db.outboxHead()
        let userIDs = Array(Set(requests.map(\.caller.userID)))
        // Users asking for all of READY: their user and DMs come from here too.
        let homedHere = requests.filter { !$0.guildsOnly }.map(\.caller.userID)
        async let storedUsers = db.users(ids: homedHere)
        async let storedMemberships = db.memberships(userIDs: userIDs)
        async let storedChannels = db.textChannelIDs(userIDs: userIDs)
        async let storedDMs = db.dms(ofAny: homedHere)
        let users = Dictionary(try await storedUsers.map { ($0.id, $0) }) { first, _ in first }
        let memberships = Dictionary(grouping: try await storedMemberships, by: \.userID)
        let textChannels = try await storedChannels
        let dms = try await storedDMs

        // What every member's GUILD_CREATE shows the same of a workspace, once per workspace.
        var workspaces: [Snowflake: ReadyWorkspace] = [:]
        for access in memberships.values.joined().map(\.access) where workspaces[access.workspace.id] == nil {
            workspaces[access.workspace.id] = try await readyWorkspace(access.workspace, version: access.accessVersion, head: head, largeThreshold: largeThreshold)
        }
        var states = [ReadyState?](repeating: nil, count: requests.count)
        var asks: [(index: Int, unread: UnreadAsk)] = []
        for (index, request) in requests.enumerated() {
            let caller = request.caller
            let user = request.guildsOnly ? User(id: caller.userID, username: "", globalName: nil, bot: caller.isBot) : users[caller.userID]
            guard let user else { continue }
            var guilds: [GuildCreatePayload] = []
            var hidden: Set<Snowflake> = []
            for access in memberships[caller.userID, default: []].map(\.access) {
                guard let workspace = workspaces[access.workspace.id] else { continue }
                hidden.formUnion(Self.hiddenChannels(workspace.shared.channels, access: access))
                guilds.append(workspace.payload(for: caller.userID, access: access))
            }
            let privateChannels = request.guildsOnly ? [] : dms.filter { $0.users.contains { $0.id == caller.userID } }.map { $0.channel(for: caller.userID) }
            states[index] = ReadyState(user: user, guilds: guilds, outboxSeq: head, readStates: [], privateChannels: privateChannels)
            asks.append((index, UnreadAsk(userID: caller.userID, hidden: hidden, channels: textChannels[caller.userID, default: []])))
        }
        for (ask, readStates) in zip(asks, try await readStates(counting: asks.map(\.unread))) { states[ask.index]?.readStates = readStates }
        return states
    }

    /// A workspace as READY shows it to each of its members: its roles, channels and count are
    /// read once for all sessions identifying together (a thousand members after an edge
    /// restart), at or after the head each of them read; the count is kept while `version` (the
    /// workspace's access version, read with the memberships) stays. A workspace under the
    /// large threshold also lists its members and the presences of those online.
    private func readyWorkspace(_ workspace: WorkspaceRecord, version: Int64?, head: Int64, largeThreshold: Int) async throws -> ReadyWorkspace {
        let shared = try await workspaceFlights.run("\(workspace.id) \(head)", remember: false) { [db, memberCounts] in
            SharedWorkspace(roles: try await db.roles(workspaceID: workspace.id), channels: try await db.channels(workspaceID: workspace.id),
                            memberCount: try await memberCounts.count(of: workspace.id, at: version) { try await db.memberCount(workspaceID: workspace.id) })
        }
        guard shared.memberCount <= largeThreshold else { return ReadyWorkspace(workspace: workspace, shared: shared, members: nil, presences: []) }
        let members = try await db.members(workspaceID: workspace.id, after: Snowflake(0), limit: largeThreshold)
        return ReadyWorkspace(workspace: workspace, shared: shared, members: members,
                              presences: try await storedPresences(of: members.map(\.user.id)))
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
        try await db.upsertReplica(user)
    }
}

/// What every member's READY reads the same of a workspace.
struct SharedWorkspace: Sendable {
    var roles: [Role]
    var channels: [GuildChannel]
    var memberCount: Int
}

/// One session's part of a batch READY: its caller, and whether only the workspaces homed here
/// are asked (the user's home is another cell).
public struct ReadyRequest: Sendable {
    public var caller: Caller
    public var guildsOnly: Bool

    public init(caller: Caller, guildsOnly: Bool) {
        self.caller = caller
        self.guildsOnly = guildsOnly
    }
}

/// A workspace as a batch READY has read it for all of its members there.
struct ReadyWorkspace: Sendable {
    var shared: SharedWorkspace
    /// GUILD_CREATE as every member sees it alike, built once: their own parts are added per
    /// member, and the members' payloads share its arrays (the batch is sent with each
    /// workspace written once, `ReadyBatch`).
    private var common: GuildCreatePayload
    /// The stored presences of the members of a workspace under the large threshold.
    private var presences: [(user: Snowflake, state: String?)]

    /// `members`: every member, for a workspace under the large threshold (nil: a large one).
    init(workspace: WorkspaceRecord, shared: SharedWorkspace, members: [MemberRecord]?, presences: [(user: Snowflake, state: String?)]) {
        self.shared = shared
        self.presences = presences
        common = GuildCreatePayload(guild: Presenter.guild(workspace, roles: shared.roles), channels: shared.channels,
                                    members: members?.map { Presenter.member($0, withUser: true) } ?? [], memberCount: shared.memberCount,
                                    joinedAt: nil, large: members == nil)
    }

    /// GUILD_CREATE as `userID` (a member, as `access` has them) sees it: a large workspace
    /// carries only their own member object; a small one every member and the presences of
    /// the others online.
    func payload(for userID: Snowflake, access: WorkspaceAccess) -> GuildCreatePayload {
        var own = access.member
        own?.roleIDs = access.roles.memberRoleIDs.sorted()
        own?.timedOutUntil = access.roles.timedOutUntil
        return payload(for: userID, own: own)
    }

    /// GUILD_CREATE as `userID`, whose member object is `own` (with its roles), sees it.
    func payload(for userID: Snowflake, own: MemberRecord?) -> GuildCreatePayload {
        var payload = common
        payload.joined_at = own.map { DiscordTimestamp.string(from: $0.joinedAt) }
        if payload.large {
            payload.members = own.map { [Presenter.member($0, withUser: true)] } ?? []
        } else {
            payload.presences = PresenceUpdatePayload.listed(presences.filter { $0.user != userID }, guild: payload.guild.id)
        }
        return payload
    }
}
