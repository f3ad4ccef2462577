import Foundation

/// The REST endpoints Concord serves. Each is declared once, in `spec`: its method and path,
/// who may call it, what its body must be, and whether a shared channel's replica answers it.
/// The edge and the cell match, check and route requests with these declarations; the cell's
/// handler is the one other place an endpoint appears (CellAPI).
public enum Endpoint: String, CaseIterable, Sendable {
    case register, login
    case getCurrentUser, getUser, getCurrentUserGuilds, getApplication, listDMs, createDM
    case getGateway, getGatewayBot, listEdges
    case createGuild, getGuild, modifyGuild, deleteGuild
    case listChannels, createChannel, getChannel, modifyChannel, deleteChannel
    case listMembers, getMember
    case createInvite, getInvite, acceptInvite
    case listMessages, createMessage, getMessage, editMessage, deleteMessage, triggerTyping, bulkDeleteMessages
    case addReaction, removeOwnReaction, removeUserReaction, listReactionUsers, removeAllReactions, removeEmojiReactions
    case listPins, listPinsLegacy, pinMessage, unpinMessage
    case ackMessage, bulkAck, getReadStates
    case createShareInvite, acceptShareInvite
    case listRoles, getRole, createRole, modifyRolePositions, modifyRole, deleteRole, addMemberRole, removeMemberRole
    case modifyMember, modifyCurrentMember, kickMember, leaveGuild, listBans, getBan, createBan, removeBan
    case putOverwrite, deleteOverwrite, getAuditLog, bulkBan
    case listCommands, overwriteCommands, listGuildCommands, overwriteGuildCommands, listDefaultSounds

    public var spec: EndpointSpec {
        switch self {
        case .register: .init("POST", "auth/register", access: .anyone, body: .json(RegisterRequest.self, Validation.validate))
        case .login: .init("POST", "auth/login", access: .anyone, body: .json(LoginRequest.self))
        case .getCurrentUser: .init("GET", "users/@me")
        case .getCurrentUserGuilds: .init("GET", "users/@me/guilds")
        case .getUser: .init("GET", "users/{user}")
        case .listDMs: .init("GET", "users/@me/channels")
        case .createDM: .init("POST", "users/@me/channels", body: .json(DMCreateRequest.self))
        case .getApplication: .init("GET", "oauth2/applications/@me", alias: "applications/@me")
        case .getGateway: .init("GET", "gateway", access: .edgeAnswers)
        // Concord's addition: every edge with its region, for clients choosing the nearest.
        case .listEdges: .init("GET", "edges", access: .edgeAnswers)
        case .getGatewayBot: .init("GET", "gateway/bot", access: .edgeAnswersMembers)
        case .createGuild: .init("POST", "guilds", body: .json(GuildCreateRequest.self, Validation.validate))
        case .getGuild: .init("GET", "guilds/{guild}")
        case .modifyGuild: .init("PATCH", "guilds/{guild}", body: .json(GuildModifyRequest.self, Validation.validate))
        case .deleteGuild: .init("DELETE", "guilds/{guild}")
        case .listChannels: .init("GET", "guilds/{guild}/channels")
        case .createChannel: .init("POST", "guilds/{guild}/channels", body: .json(ChannelCreateRequest.self, Validation.validate))
        case .listMembers: .init("GET", "guilds/{guild}/members")
        case .getMember: .init("GET", "guilds/{guild}/members/{user}")
        case .getChannel: .init("GET", "channels/{channel}", replica: true)
        case .modifyChannel: .init("PATCH", "channels/{channel}", body: .json(ChannelModifyRequest.self, Validation.validate))
        case .deleteChannel: .init("DELETE", "channels/{channel}")
        case .createInvite: .init("POST", "channels/{channel}/invites", body: .optionalJSON(InviteCreateRequest.self, Validation.validate))
        case .getInvite: .init("GET", "invites/{invite}", access: .anyone)
        case .acceptInvite: .init("POST", "invites/{invite}")
        case .listMessages: .init("GET", "channels/{channel}/messages", replica: true)
        case .createMessage: .init("POST", "channels/{channel}/messages", body: .jsonCheckedByCell(MessageCreateRequest.self), replica: true)
        case .getMessage: .init("GET", "channels/{channel}/messages/{message}", replica: true)
        case .editMessage: .init("PATCH", "channels/{channel}/messages/{message}", body: .jsonCheckedByCell(MessageEditRequest.self), replica: true)
        case .deleteMessage: .init("DELETE", "channels/{channel}/messages/{message}", replica: true)
        case .triggerTyping: .init("POST", "channels/{channel}/typing", replica: true)
        case .bulkDeleteMessages: .init("POST", "channels/{channel}/messages/bulk-delete", body: .json(BulkDeleteRequest.self, BulkDeleteRequest.validate))
        // A replica takes its members' reactions (handing them to the channel's home) and lists reactors.
        case .addReaction: .init("PUT", "channels/{channel}/messages/{message}/reactions/{emoji}/@me", replica: true)
        case .removeOwnReaction: .init("DELETE", "channels/{channel}/messages/{message}/reactions/{emoji}/@me", replica: true)
        case .removeUserReaction: .init("DELETE", "channels/{channel}/messages/{message}/reactions/{emoji}/{user}")
        case .listReactionUsers: .init("GET", "channels/{channel}/messages/{message}/reactions/{emoji}", replica: true)
        case .removeAllReactions: .init("DELETE", "channels/{channel}/messages/{message}/reactions")
        case .removeEmojiReactions: .init("DELETE", "channels/{channel}/messages/{message}/reactions/{emoji}")
        case .listPins: .init("GET", "channels/{channel}/messages/pins")
        // Discord's older pin routes, which libraries still call.
        case .listPinsLegacy: .init("GET", "channels/{channel}/pins")
        case .pinMessage: .init("PUT", "channels/{channel}/messages/pins/{message}", alias: "channels/{channel}/pins/{message}")
        case .unpinMessage: .init("DELETE", "channels/{channel}/messages/pins/{message}", alias: "channels/{channel}/pins/{message}")
        case .ackMessage: .init("POST", "channels/{channel}/messages/{message}/ack", replica: true)
        case .bulkAck: .init("POST", "read-states/ack-bulk", body: .json(BulkAckRequest.self, Validation.validate))
        case .getReadStates: .init("GET", "users/@me/read-states")
        // Concord's addition: sharing a channel with a workspace of another organisation.
        case .createShareInvite: .init("POST", "channels/{channel}/share-invites")
        case .acceptShareInvite: .init("POST", "guilds/{guild}/share-invites/{invite}")
        case .listRoles: .init("GET", "guilds/{guild}/roles")
        case .getRole: .init("GET", "guilds/{guild}/roles/{role}")
        case .createRole: .init("POST", "guilds/{guild}/roles", body: .optionalJSON(RoleRequest.self, Validation.validate))
        case .modifyRolePositions: .init("PATCH", "guilds/{guild}/roles", body: .json([RolePosition].self, Validation.validate))
        case .modifyRole: .init("PATCH", "guilds/{guild}/roles/{role}", body: .optionalJSON(RoleRequest.self, Validation.validate))
        case .deleteRole: .init("DELETE", "guilds/{guild}/roles/{role}")
        case .addMemberRole: .init("PUT", "guilds/{guild}/members/{user}/roles/{role}")
        case .removeMemberRole: .init("DELETE", "guilds/{guild}/members/{user}/roles/{role}")
        case .modifyMember: .init("PATCH", "guilds/{guild}/members/{user}", body: .json(MemberModifyRequest.self, Validation.validate))
        case .modifyCurrentMember: .init("PATCH", "guilds/{guild}/members/@me", body: .json(CurrentMemberModifyRequest.self, Validation.validate))
        case .kickMember: .init("DELETE", "guilds/{guild}/members/{user}")
        case .leaveGuild: .init("DELETE", "users/@me/guilds/{guild}")
        case .listBans: .init("GET", "guilds/{guild}/bans")
        case .getBan: .init("GET", "guilds/{guild}/bans/{user}")
        case .createBan: .init("PUT", "guilds/{guild}/bans/{user}", body: .optionalJSON(BanRequest.self, Validation.validate))
        case .removeBan: .init("DELETE", "guilds/{guild}/bans/{user}")
        // A shared channel's replica answers for its own workspace's copy (CellDomain+Overwrites).
        case .putOverwrite: .init("PUT", "channels/{channel}/permissions/{overwrite}", body: .json(OverwriteRequest.self, Validation.validate), replica: true)
        case .deleteOverwrite: .init("DELETE", "channels/{channel}/permissions/{overwrite}", replica: true)
        case .getAuditLog: .init("GET", "guilds/{guild}/audit-logs")
        case .bulkBan: .init("POST", "guilds/{guild}/bulk-ban", body: .json(BulkBanRequest.self, Validation.validate))
        // Application commands, which libraries read (and write, when a bot declares some) as
        // they start; an application's id is its bot user's, so `{user}` names it.
        case .listCommands: .init("GET", "applications/{user}/commands", access: .edgeAnswersMembers)
        case .overwriteCommands: .init("PUT", "applications/{user}/commands", access: .edgeAnswersMembers, body: .json([JSONValue].self))
        case .listGuildCommands: .init("GET", "applications/{user}/guilds/{guild}/commands", access: .edgeAnswersMembers)
        case .overwriteGuildCommands: .init("PUT", "applications/{user}/guilds/{guild}/commands", access: .edgeAnswersMembers, body: .json([JSONValue].self))
        // Read by py-cord at READY; Concord has no voice, so no soundboard sounds.
        case .listDefaultSounds: .init("GET", "soundboard-default-sounds", access: .edgeAnswersMembers)
        }
    }

    /// Endpoints open without a token.
    public var isPublic: Bool { spec.access == .anyone || spec.access == .edgeAnswers }
    /// Endpoints the edge answers itself, without a cell.
    public var isEdgeLocal: Bool { spec.access == .edgeAnswers || spec.access == .edgeAnswersMembers }
}

/// One endpoint's declaration.
public struct EndpointSpec: Sendable {
    public enum Access: Sendable, Equatable {
        /// A token is required (Discord's default).
        case members
        /// Open without a token, answered by a cell.
        case anyone
        /// Open without a token, answered by the edge itself.
        case edgeAnswers
        /// A token is required, answered by the edge itself.
        case edgeAnswersMembers
    }

    /// What the body must be; the edge checks it before anything else reads it (the cell
    /// decodes it again for its handler, and for the hottest writes is left the typed check).
    public struct Body: Sendable {
        public let check: @Sendable (_ body: Data) throws -> Void

        /// No body is read.
        public static let none = Body { _ in }

        /// A JSON object of `type`, valid by `validate`.
        public static func json<T: Decodable>(_ type: T.Type, _ validate: @escaping @Sendable (T) throws -> Void = { _ in }) -> Body {
            Body { bytes in try validate(try WireJSON.decodeBody(type, from: bytes)) }
        }

        /// A JSON body of `type` that the cell's handler decodes and validates as it reads it,
        /// before anything else (the hottest writes): the edge checks only that it is JSON, so
        /// it is not decoded twice, and the form errors a client gets are the cell's, the same.
        public static func jsonCheckedByCell<T: Decodable>(_ type: T.Type) -> Body {
            Body { bytes in
                guard !bytes.isEmpty else { throw APIError.invalidJSON }
                try JSONSyntax.validate(bytes)
            }
        }

        /// As `json`, or empty.
        public static func optionalJSON<T: Decodable>(_ type: T.Type, _ validate: @escaping @Sendable (T) throws -> Void = { _ in }) -> Body {
            Body { bytes in if !bytes.isEmpty { try validate(try WireJSON.decodeBody(type, from: bytes)) } }
        }
    }

    public let method: String
    /// The path after the API prefix, with `{guild}`, `{channel}`, `{message}`, `{user}`, `{role}`,
    /// `{overwrite}` (a role's or a member's id) and `{invite}` for the ids it names; `alias` is a second path for the same endpoint.
    public let path: String
    public let alias: String?
    public let access: Access
    public let body: Body
    /// Whether a replica of a shared channel answers it for its workspace's members (writes it
    /// hands on to the channel's home).
    public let servedByReplica: Bool

    init(_ method: String, _ path: String, alias: String? = nil, access: Access = .members, body: Body = .none, replica: Bool = false) {
        self.method = method
        self.path = path
        self.alias = alias
        self.access = access
        self.body = body
        servedByReplica = replica
    }
}

/// A matched request: the endpoint and the ids in its path.
public struct Route: Sendable, Equatable {
    public var endpoint: Endpoint
    public var guildID: Snowflake?
    public var channelID: Snowflake?
    public var messageID: Snowflake?
    public var userID: Snowflake?
    public var roleID: Snowflake?
    /// The role or member a channel overwrite is for.
    public var overwriteID: Snowflake?
    public var inviteCode: String?
    /// A reaction's emoji as the path names it (percent-decoded, not yet checked).
    public var emoji: String?

    public init(endpoint: Endpoint) { self.endpoint = endpoint }

    /// The cell that owns the data this route touches, from the ids it names; nil when the
    /// route is about the caller (then the caller's own cell serves it).
    public var ownerCell: Int? {
        if let guildID { return guildID.cell }
        if let channelID { return channelID.cell }
        if let inviteCode { return InviteCode.cell(of: inviteCode) }
        if let userID { return userID.cell }
        return nil
    }

    /// The rate-limit bucket: Discord keys buckets by route and its major parameter.
    public var rateLimitKey: String {
        "\(endpoint.rawValue):\(channelID?.description ?? guildID?.description ?? "")"
    }
}

public enum RouteTable {
    private enum Part { case literal(String), guild, channel, message, user, role, overwrite, invite, emoji }
    private static let table: [(String, [Part], Endpoint)] = Endpoint.allCases.flatMap { endpoint in
        let spec = endpoint.spec
        return ([spec.path] + (spec.alias.map { [$0] } ?? [])).map { (spec.method, parts(of: $0), endpoint) }
    }

    private static func parts(of path: String) -> [Part] {
        path.split(separator: "/").map { segment in
            switch segment {
            case "{guild}": .guild
            case "{channel}": .channel
            case "{message}": .message
            case "{user}": .user
            case "{role}": .role
            case "{overwrite}": .overwrite
            case "{invite}": .invite
            case "{emoji}": .emoji
            default: .literal(String(segment))
            }
        }
    }

    /// The API's path prefixes; Discord's libraries use `/api/v10` (some still `/api/v9`).
    public static let prefixes = ["/api/v10/", "/api/v9/"]

    /// Matches a request path (without query) to a route, or throws Discord's 404/405/400.
    /// A literal segment wins over an id in the same place (`messages/pins` is not a message
    /// id); an id that is not a snowflake is a 400 only when no other route takes the path.
    public static func match(method: String, path: String) throws -> Route {
        guard let prefix = prefixes.first(where: { path.hasPrefix($0) }) else { throw APIError.notFound }
        var rest = path.dropFirst(prefix.count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let segments = rest.split(separator: "/", omittingEmptySubsequences: false)
        var pathMatched = false
        var badID: (any Error)?
        for (routeMethod, parts, endpoint) in table where parts.count == segments.count {
            let route: Route
            do {
                guard let bound = try bind(parts, segments, endpoint) else { continue }
                route = bound
            } catch {
                if routeMethod == method, badID == nil { badID = error }
                continue
            }
            pathMatched = true
            if routeMethod == method { return route }
        }
        if let badID { throw badID }
        throw pathMatched ? APIError.methodNotAllowed : APIError.notFound
    }

    private static func bind(_ parts: [Part], _ segments: [Substring], _ endpoint: Endpoint) throws -> Route? {
        var route = Route(endpoint: endpoint)
        var badIDs = FormErrors()
        for (part, segment) in zip(parts, segments) {
            func id(_ field: String) -> Snowflake? {
                if let id = Snowflake(segment) { return id }
                badIDs.add([field], code: "NUMBER_TYPE_COERCE", message: "Value \"\(segment)\" is not snowflake.")
                return nil
            }
            switch part {
            case .literal(let text): if segment != text { return nil }
            case .guild: route.guildID = id("guild_id")
            case .channel: route.channelID = id("channel_id")
            case .message: route.messageID = id("message_id")
            case .role: route.roleID = id("role_id")
            case .overwrite: route.overwriteID = id("overwrite_id")
            case .user:
                if segment == "@me" { return nil }
                route.userID = id("user_id")
            case .invite:
                if segment.isEmpty { return nil }
                route.inviteCode = String(segment)
            case .emoji:
                if segment.isEmpty { return nil }
                route.emoji = segment.removingPercentEncoding ?? String(segment)
            }
        }
        if !badIDs.isEmpty { throw APIError.invalidForm(badIDs) }
        return route
    }
}

/// Invite codes carry their workspace's cell in the first character, so any edge can route
/// `POST /invites/{code}` without a lookup.
public enum InviteCode {
    // 64 URL-safe symbols: one per possible cell id.
    static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_")

    public static func make(cell: Int, using rng: inout some RandomNumberGenerator) -> String {
        var code = String(alphabet[cell])
        for _ in 0..<9 { code.append(alphabet.randomElement(using: &rng)!) }
        return code
    }
    public static func cell(of code: String) -> Int? {
        guard let first = code.first, let index = alphabet.firstIndex(of: first), index <= Snowflake.maxCellID else { return nil }
        return index
    }
}
