import Foundation

/// One call of the cluster's internal API (edge→cell, relay→cell, cell→cell): method, path,
/// what is sent, and how a successful answer reads. Every caller sends one of `InternalAPI`'s
/// calls through `CellClient`, and the cell serves the same paths (`InternalAPI.Path`), so a
/// call's path, body and reply type are written once.
public struct CellCall<Reply: Sendable>: Sendable {
    public var method: String
    /// The path with its query.
    public var path: String
    public var body: Data?
    public var contentType = "application/json"
    /// Besides the internal secret and the request id, which every call carries.
    public var headers: [CellReply.Header] = []
    /// Whether a refusal is an answer like any other (the public API passed through) rather
    /// than an error.
    public var takesRefusals = false
    /// The largest answer read (a relay's page of 500 events is larger than any public one).
    public var replyLimit = 16 << 20
    /// Reads a successful answer (any answer, with `takesRefusals`).
    public let read: @Sendable (CellReply) throws -> Reply

    public init(method: String = "GET", path: String, body: Data? = nil, read: @escaping @Sendable (CellReply) throws -> Reply) {
        self.method = method
        self.path = path
        self.body = body
        self.read = read
    }
}

/// A cell's answer as it came.
public struct CellReply: Sendable {
    public typealias Header = (name: String, value: String)
    public var status: Int
    public var headers: [Header]
    public var body: Data
    /// On a refusal another cell might not make: which (the cell says so in a header, so
    /// nobody routes by reading error bodies).
    public var refusal: CellRefusal?

    public init(status: Int, headers: [Header] = [], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
        // Only refusals carry it: a successful answer (the edge's every ordinary request) is not searched.
        refusal = (200..<300).contains(status) ? nil : Self.header(CellRefusal.header, in: headers).flatMap(CellRefusal.init(rawValue:))
    }

    public var succeeded: Bool { (200..<300).contains(status) }

    public func header(_ name: String) -> String? { Self.header(name, in: headers) }

    /// Header names compare without case (HTTP's rule); the name asked for is lowered once.
    private static func header(_ name: String, in headers: [Header]) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.utf8.count == wanted.utf8.count && $0.name.lowercased() == wanted }?.value
    }

    /// The refusal as the error a client sees: the cell's own code and message.
    public var error: APIError {
        let json = try? WireJSON.decode(JSONValue.self, from: body)
        return APIError(status: status, code: Int(json?["code"]?.intValue ?? 0),
                        message: json?["message"]?.stringValue ?? "\(status): the cell refused the request")
    }

    func decoded<T: Decodable>(_ type: T.Type) throws -> T { try WireJSON.decode(type, from: body) }
}

/// Refusals a caller may route around: the cell names them in `X-Concord-Refusal`.
public enum CellRefusal: String, Sendable {
    /// The workspace is homed in another cell now (421).
    case moved
    /// Unknown channel, or no access to it here: another cell may serve it (a replica, or its home).
    case notServedHere = "not-served-here"
    /// The caller's profile is not in this cell yet (they are homed in another).
    case profileNotHere = "profile-not-here"
    case unknownUser = "unknown-user"
    /// No account of this cell has that login (or the password is wrong).
    case unknownLogin = "unknown-login"

    public static let header = "X-Concord-Refusal"

    public init?(_ error: APIError) {
        switch (error.status, error.code) {
        case (421, _): self = .moved
        case (APIError.unknownChannel.status, APIError.unknownChannel.code), (APIError.missingAccess.status, APIError.missingAccess.code):
            self = .notServedHere
        case (APIError.profileNotHere.status, APIError.profileNotHere.code): self = .profileNotHere
        case (APIError.unknownUser.status, APIError.unknownUser.code): self = .unknownUser
        case _ where error == .invalidLogin: self = .unknownLogin
        default: return nil
        }
    }
}

/// Where an outbox stands: its last numbered position, or a follower's cursor in it.
public struct OutboxPosition: Codable, Sendable {
    public var seq: Int64
    public init(seq: Int64) { self.seq = seq }
}

public struct RevocationAnswer: Codable, Sendable {
    public var revoked: Bool
    public init(revoked: Bool) { self.revoked = revoked }
}

/// A relayed page applied: how many events concerned the destination, and its cursor after.
public struct RelayApplied: Codable, Sendable {
    public var applied: Int
    public var cursor: Int64
    public init(applied: Int, cursor: Int64) { self.applied = applied; self.cursor = cursor }
}

/// A page of a source's outbox for one destination, as sent (the destination applies it as
/// is), how far the source looked for it, and the source's head when it did.
public struct RelayPage: Sendable {
    /// The sequence numbers of the page's events, in order.
    public var seqs: [Int64]
    public var json: Data
    public var through: Int64?
    public var head: Int64?

    /// The page as the source wrote it: `json`, its events (an array of numbered events).
    public init(json: Data, through: Int64?, head: Int64?) throws {
        struct Numbered: Decodable { var seq: Int64 }
        seqs = try WireJSON.decode([Numbered].self, from: json).map(\.seq)
        self.json = json
        self.through = through
        self.head = head
    }

    /// This page and the one read after it, as one: their events in order, as far as the second looked.
    public func followed(by next: RelayPage) throws -> RelayPage {
        guard json.first == UInt8(ascii: "["), json.last == UInt8(ascii: "]"), next.json.first == UInt8(ascii: "["), next.json.last == UInt8(ascii: "]") else {
            throw RelayPageStream.Malformed(description: "a relay page is not a JSON array")
        }
        var joined = json.dropLast()
        if !seqs.isEmpty, !next.seqs.isEmpty { joined.append(UInt8(ascii: ",")) }
        joined.append(next.json.dropFirst())
        var page = self
        (page.seqs, page.json, page.through, page.head) = (seqs + next.seqs, Data(joined), next.through ?? through, next.head ?? head)
        return page
    }

    /// A page answered on its own: the events, with how far the source looked in its headers.
    public init(answer: CellReply) throws {
        try self.init(json: answer.body, through: answer.header(InternalAPI.PageHeader.through).flatMap(Int64.init),
                      head: answer.header(InternalAPI.PageHeader.head).flatMap(Int64.init))
    }
}

/// One identifying session's part of a batch READY: its token, and whether the cell is asked
/// only for the workspaces homed there (the user's home is another cell) or for all of READY.
public struct ReadyAsk: Codable, Sendable, Equatable {
    public var authorization: String
    public var guilds_only: Bool

    public init(authorization: String, guildsOnly: Bool) {
        self.authorization = authorization
        self.guilds_only = guildsOnly
    }
}

/// Every call one Concord process makes of a cell.
public enum InternalAPI {
    /// Headers on a relay's page of a source's outbox: the last position the source looked at
    /// for it, and the source's head when it did.
    public enum PageHeader {
        public static let through = "X-Concord-Through"
        public static let head = "X-Concord-Head"
    }

    public enum Path {
        public static let outbox = "/internal/outbox"
        public static let outboxHead = "/internal/outbox/head"
        public static let revocationCheck = "/internal/revocations/check"
        public static let directory = "/internal/directory"
        public static let presence = "/internal/presence"
        public static let gatewayReady = "/internal/gateway/ready"
        public static let sharedMessages = "/internal/shared/messages"
        public static let sharedMessageChange = "/internal/shared/messages/change"
        public static let sharedReactions = "/internal/shared/reactions"
        public static let claimShare = "/internal/shares/claim"
        public static let sharedHistory = "/internal/shares/history"
        public static let relayCursor = "/internal/relay/cursor"
        public static let relayApply = "/internal/relay/apply"
        public static let users = "/internal/users/"
        public static let attachments = "/internal/attachments/"
        public static let stats = "/internal/stats"
    }

    /// The answer of a page the edge or relay must read whole before going on.
    static let pageLimit = 64 << 20

    public static let outboxHead = CellCall(path: Path.outboxHead) { try $0.decoded(OutboxPosition.self).seq }

    /// The outbox after `after`, every event (an edge reading back what it missed); `settled`:
    /// the cell first numbers what committed before the read.
    public static func outbox(after: Int64, limit: Int = 500, settled: Bool = false) -> CellCall<[JSONValue]> {
        var call = CellCall(path: Path.outbox + "?after=\(after)&limit=\(limit)" + (settled ? "&settled=1" : "")) {
            try $0.decoded([JSONValue].self)
        }
        call.replyLimit = pageLimit
        return call
    }

    /// The events after `after` shared with cell `destination`, for its relay (`follower`: the
    /// source keeps rows until that follower has them; `confirmed`, where the destination is known
    /// to have them up to, when the relay reads ahead of it; `hold`: with nothing for the
    /// destination yet, the source answers when there is, or after this long).
    public static func relayPage(after: Int64, confirmed: Int64? = nil, hold: Duration? = nil, limit: Int = 500,
                                 for destination: Int, follower: String) -> CellCall<RelayPage> {
        let kept = confirmed.flatMap { $0 < after ? "&confirmed=\($0)" : nil } ?? ""
        let held = hold.map { "&wait=\(min(max(0, $0.wholeMilliseconds), Int64(longestRelayHold)))" } ?? ""
        var call = CellCall(path: Path.outbox + "?after=\(after)&limit=\(limit)&for=\(destination)&follower=\(follower)" + kept + held) {
            try RelayPage(answer: $0)
        }
        call.replyLimit = pageLimit
        return call
    }

    /// `relayPage` held open (`hold`, at most `longestRelayHold`): the source writes each page
    /// into the answer as soon as it numbers events for `destination` (`RelayPageStream`'s
    /// frames), and ends it when `hold` is over. A source that does not stream answers one page,
    /// as `relayPage` with `hold`.
    public static func relayPageStream(after: Int64, confirmed: Int64? = nil, hold: Duration, limit: Int = 500,
                                       for destination: Int, follower: String) -> CellCall<RelayPage> {
        var call = relayPage(after: after, confirmed: confirmed, hold: hold, limit: limit, for: destination, follower: follower)
        call.path += "&stream=1"
        return call
    }

    /// The longest a source holds a relay's read (ms): well inside the call's timeout, and short
    /// enough that a cell shutting down is not kept waiting.
    public static let longestRelayHold = 5000

    public static func relayCursor(source: Int) -> CellCall<Int64> {
        CellCall(path: Path.relayCursor + "?source=\(source)") { try $0.decoded(OutboxPosition.self).seq }
    }

    /// A page of `source`'s outbox (as `relayPage` read it), to apply to the replicas here.
    public static func relayApply(source: Int, after: Int64, through: Int64, page: Data) -> CellCall<RelayApplied> {
        CellCall(method: "POST", path: Path.relayApply + "?source=\(source)&after=\(after)&through=\(through)", body: page) {
            try $0.decoded(RelayApplied.self)
        }
    }

    /// Whether a token is revoked, from the cell's database (its Redis could not vouch).
    public static func isRevoked(token: Snowflake) -> CellCall<Bool> {
        CellCall(path: Path.revocationCheck + "?token=\(token)") { try $0.decoded(RevocationAnswer.self).revoked }
    }

    /// The workspaces that moved, and where to.
    public static let directory = CellCall(path: Path.directory) { try $0.decoded([DirectoryEntry].self) }

    /// Presence reports of users homed in the cell, applied in order.
    public static func presence(_ reports: [PresenceReport]) throws -> CellCall<Void> {
        CellCall(method: "POST", path: Path.presence, body: try WireJSON.encode(reports)) { _ in }
    }

    /// READY's state for sessions identifying together, one answer per ask in order (null for a
    /// token the cell does not accept).
    public static func ready(_ asks: [ReadyAsk]) throws -> CellCall<[ReadyState?]> {
        var call = CellCall(method: "POST", path: Path.gatewayReady, body: try WireJSON.encode(asks)) { try ReadyBatch.read($0.body).readyStates() }
        call.replyLimit = pageLimit
        return call
    }

    /// A user's profile from their home cell, as JSON to store elsewhere.
    public static func profile(of user: Snowflake) -> CellCall<Data> {
        CellCall(path: Path.users + user.description) { $0.body }
    }

    /// Stores a copy of a user's profile (as `profile` read it) in a cell they join a workspace of.
    public static func storeProfile(of user: Snowflake, _ profile: Data) -> CellCall<Void> {
        CellCall(method: "PUT", path: Path.users + user.description, body: profile) { _ in }
    }

    /// The message JSON the home stored.
    public static func postShared(_ post: SharedPost) throws -> CellCall<Data> {
        try sharedWrite(Path.sharedMessages, post) { $0.body }
    }

    /// The edited message's JSON (`{}` for a deletion).
    public static func changeShared(_ change: SharedChange) throws -> CellCall<Data> {
        try sharedWrite(Path.sharedMessageChange, change) { $0.body }
    }

    public static func reactShared(_ reaction: SharedReaction) throws -> CellCall<Void> {
        try sharedWrite(Path.sharedReactions, reaction) { _ in }
    }

    public static func claimShare(_ request: SharedHistoryRequest) throws -> CellCall<GuildChannel> {
        try sharedWrite(Path.claimShare, request) { try $0.decoded(GuildChannel.self) }
    }

    public static func sharedHistory(_ request: SharedHistoryRequest) throws -> CellCall<[Message]> {
        try sharedWrite(Path.sharedHistory, request) { try $0.decoded([Message].self) }
    }

    private static func sharedWrite<T>(_ path: String, _ body: some Encodable, read: @escaping @Sendable (CellReply) throws -> T) throws -> CellCall<T> {
        CellCall(method: "POST", path: path, body: try WireJSON.encode(body), read: read)
    }

    /// A file's bytes (`range`: the client's Range header, passed on), streamed.
    public static func attachment(channel: Snowflake, attachment: Snowflake, range: String?) -> CellCall<Void> {
        var call = CellCall(path: Path.attachments + "\(channel)/\(attachment)") { _ in }
        if let range { call.headers = [("Range", range)] }
        return call
    }

    /// A request of the public API passed to the cell that serves it, answered as the cell
    /// answers (refusals included). `edgeURL`: the edge's public URL, which the CDN URLs of
    /// files uploaded through it name; `reason`: the request's audit-log reason.
    public static func api(method: String, path: String, authorization: String?, body: Data = Data(),
                           contentType: String = "application/json", reason: String? = nil, edgeURL: String? = nil) -> CellCall<CellReply> {
        var call = CellCall(method: method, path: path, body: body.isEmpty ? nil : body) { $0 }
        call.contentType = contentType
        call.takesRefusals = true
        if let authorization { call.headers.append(("Authorization", authorization)) }
        if let reason { call.headers.append(("X-Audit-Log-Reason", reason)) }
        if let edgeURL { call.headers.append(("X-Concord-Edge-URL", edgeURL)) }
        return call
    }
}
