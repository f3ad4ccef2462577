import ConcordAuth
import ConcordModels
import ConcordRedis
import ConcordStorage
import ConcordTiering
import Foundation
import Logging
import Synchronization

/// Who is calling, from a verified token.
public struct Caller: Sendable, Equatable {
    public var userID: Snowflake
    public var tokenID: Snowflake
    public var isBot: Bool

    public init(userID: Snowflake, tokenID: Snowflake, isBot: Bool) {
        self.userID = userID
        self.tokenID = tokenID
        self.isBot = isBot
    }
    public init(_ claims: TokenClaims) {
        self.init(userID: claims.userID, tokenID: claims.tokenID, isBot: claims.isBot)
    }
}

/// How history pages were answered (for benchmarks and `GET /internal/stats`).
public final class HistoryStats: Sendable {
    public let hotHits = Atomic<Int>(0)
    /// Reads that went to the database (after coalescing).
    public let historyReads = Atomic<Int>(0)
}

/// The cell's domain actions: every state change goes through here, checks permissions,
/// and commits its outbox event in the same transaction. Nothing else writes the outbox.
public final class CellDomain: Sendable {
    public let cellID: Int
    public let cellName: String
    public let db: Database
    public let redis: RedisClient
    public let tokens: TokenAuthority
    let ids: SnowflakeGenerator
    let passwords: PasswordWork
    let signal: OutboxSignal
    let logger: Logger
    public let counters: UnreadCounters
    /// Which other cells' relays the publisher wakes (told here of shares made here).
    public let relayWakes: RelayWakes
    /// Message history across the warm and cold tiers.
    public let history: MessageHistory
    /// Plain sends (one event, no nonce, no files), written in batches under load.
    let sends: GroupCommit
    /// The accesses plain sends were allowed with, kept for the same users' next sends.
    let sendAccess = AccessCache()
    /// Each active channel's latest messages, in Redis.
    public let hot: HotMessages
    let flights = Flights<String>()
    /// The parts of a workspace every member's READY shares, read once for concurrent sessions.
    let workspaceFlights = Flights<SharedWorkspace>(capacity: 0)
    /// Workspaces' member counts for READY, kept while their access versions stay.
    let memberCounts = MemberCounts()
    /// The other cells (set by the node once addresses are known).
    public let peers: PeerCells
    public let stats = HistoryStats()
    /// Where moved workspaces live now (kept current from the database by the maintenance chores).
    public let directory = WorkspaceDirectory()
    /// Attachments' bytes, by SHA-256.
    public let blobs: any BlobStore
    /// Signs attachment URLs as messages are rendered.
    let links: AttachmentLinks
    /// Blobs no attachment named at the last sweep (`sweepBlobs`).
    let unnamedBlobs = Mutex<Set<String>>([])

    public init(cellID: Int, cellName: String, db: Database, redis: RedisClient, tokens: TokenAuthority,
                process: Int = 0, hasher: PasswordHasher = .standard, signal: OutboxSignal = OutboxSignal(),
                archives: any ArchiveStore = DirectoryArchiveStore(directory: NSTemporaryDirectory() + "concord-archive"),
                hotMessagesPerChannel: Int = 100, hotChannels: Int = 10_000, peers: PeerCells? = nil,
                blobs: any BlobStore = DirectoryArchiveStore(directory: NSTemporaryDirectory() + "concord-blobs"),
                logger: Logger = Logger(label: "concord.cell")) {
        self.cellID = cellID
        self.cellName = cellName
        self.db = db
        self.redis = redis
        self.tokens = tokens
        self.ids = SnowflakeGenerator(cell: cellID, process: process)
        self.passwords = PasswordWork(hasher: hasher)
        self.signal = signal
        self.logger = logger
        let counters = UnreadCounters(redis: redis, cellName: cellName)
        self.counters = counters
        self.relayWakes = RelayWakes(cellID: cellID, db: db)
        self.history = MessageHistory(db: db, archives: ArchiveCache(store: archives))
        self.peers = peers ?? PeerCells(internalSecret: "")
        let hot = HotMessages(redis: redis, cellName: cellName, perChannel: hotMessagesPerChannel, maxChannels: hotChannels)
        self.hot = hot
        self.sends = GroupCommit { try await Self.write($0, db: db, signal: signal, hot: hot, counters: counters) }
        self.blobs = blobs
        self.links = AttachmentLinks(tokens: tokens)
    }

    /// Builds an event whose payload is `value` serialized once.
    func event(_ type: String, guild: Snowflake?, channel: Snowflake?, user: Snowflake? = nil, _ value: some Encodable) throws -> PendingEvent {
        PendingEvent(type: type, guildID: guild, channelID: channel, userID: user, payload: try WireJSON.encodeString(value))
    }

    /// A presence's event, written without the encoder.
    func event(_ type: String, guild: Snowflake?, channel: Snowflake?, user: Snowflake? = nil, _ presence: PresenceUpdatePayload) -> PendingEvent {
        PendingEvent(type: type, guildID: guild, channelID: channel, userID: user, payload: presence.wireJSON())
    }

    /// Runs a transaction that wrote outbox rows, then wakes the publisher.
    func commit<T: Sendable>(_ body: (Transaction) async throws -> T) async throws -> T {
        let result = try await db.transaction(body)
        signal.wake()
        return result
    }

    // MARK: Access checks shared by the actions

    func requireWorkspace(_ id: Snowflake, caller: Caller, needs permission: Permissions = []) async throws -> WorkspaceAccess {
        guard let access = try await db.workspaceAccess(id: id, userID: caller.userID) else { throw APIError.unknownGuild }
        guard access.member != nil else { throw APIError.missingAccess }
        guard access.permissions.contains(permission) else { throw APIError.missingPermissions }
        return access
    }

    func requireChannel(_ id: Snowflake, caller: Caller, needs permission: Permissions = .viewChannel) async throws -> ChannelAccess {
        guard let access = try await db.channelAccess(id: id, userID: caller.userID) else { throw APIError.unknownChannel }
        return try Self.allowed(access, needs: permission)
    }

    /// The access, if it lets its user see the channel and do what `permission` names.
    static func allowed(_ access: ChannelAccess, needs permission: Permissions) throws -> ChannelAccess {
        // As Discord: a channel one cannot see is Missing Access, a missing right in it Missing Permissions.
        let permissions = access.permissions
        guard access.member != nil, permissions.contains(.viewChannel) else { throw APIError.missingAccess }
        guard permissions.contains(permission) else { throw APIError.missingPermissions }
        return access
    }
}
