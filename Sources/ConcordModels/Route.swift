/// The REST endpoints Concord serves. The edge and the cell match requests with the same
/// table, so a route means one thing on both sides of the internal hop.
public enum Endpoint: String, CaseIterable, Sendable {
    case register, login
    case getCurrentUser, getUser, getCurrentUserGuilds, getApplication, listDMs, createDM
    case getGateway, getGatewayBot, listEdges
    case createGuild, getGuild, modifyGuild, deleteGuild
    case listChannels, createChannel, getChannel, modifyChannel, deleteChannel
    case listMembers, getMember
    case createInvite, getInvite, acceptInvite
    case listMessages, createMessage, getMessage, editMessage, deleteMessage, triggerTyping
    case ackMessage, bulkAck, getReadStates
    case createShareInvite, acceptShareInvite

    /// Endpoints open without a token.
    public var isPublic: Bool { [.register, .login, .getGateway, .getInvite, .listEdges].contains(self) }
    /// Endpoints the edge answers itself, without a cell.
    public var isEdgeLocal: Bool { [.getGateway, .getGatewayBot, .listEdges].contains(self) }
}

/// A matched request: the endpoint and the ids in its path.
public struct Route: Sendable, Equatable {
    public var endpoint: Endpoint
    public var guildID: Snowflake?
    public var channelID: Snowflake?
    public var messageID: Snowflake?
    public var userID: Snowflake?
    public var inviteCode: String?

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
    private enum Part { case literal(String), guild, channel, message, user, invite }
    private static let table: [(String, [Part], Endpoint)] = [
        ("POST", [.literal("auth"), .literal("register")], .register),
        ("POST", [.literal("auth"), .literal("login")], .login),
        ("GET", [.literal("users"), .literal("@me")], .getCurrentUser),
        ("GET", [.literal("users"), .literal("@me"), .literal("guilds")], .getCurrentUserGuilds),
        ("GET", [.literal("users"), .user], .getUser),
        ("GET", [.literal("users"), .literal("@me"), .literal("channels")], .listDMs),
        ("POST", [.literal("users"), .literal("@me"), .literal("channels")], .createDM),
        ("GET", [.literal("oauth2"), .literal("applications"), .literal("@me")], .getApplication),
        ("GET", [.literal("applications"), .literal("@me")], .getApplication),
        ("GET", [.literal("gateway")], .getGateway),
        // Concord's addition: every edge with its region, for clients choosing the nearest.
        ("GET", [.literal("edges")], .listEdges),
        ("GET", [.literal("gateway"), .literal("bot")], .getGatewayBot),
        ("POST", [.literal("guilds")], .createGuild),
        ("GET", [.literal("guilds"), .guild], .getGuild),
        ("PATCH", [.literal("guilds"), .guild], .modifyGuild),
        ("DELETE", [.literal("guilds"), .guild], .deleteGuild),
        ("GET", [.literal("guilds"), .guild, .literal("channels")], .listChannels),
        ("POST", [.literal("guilds"), .guild, .literal("channels")], .createChannel),
        ("GET", [.literal("guilds"), .guild, .literal("members")], .listMembers),
        ("GET", [.literal("guilds"), .guild, .literal("members"), .user], .getMember),
        ("GET", [.literal("channels"), .channel], .getChannel),
        ("PATCH", [.literal("channels"), .channel], .modifyChannel),
        ("DELETE", [.literal("channels"), .channel], .deleteChannel),
        ("POST", [.literal("channels"), .channel, .literal("invites")], .createInvite),
        ("GET", [.literal("invites"), .invite], .getInvite),
        ("POST", [.literal("invites"), .invite], .acceptInvite),
        ("GET", [.literal("channels"), .channel, .literal("messages")], .listMessages),
        ("POST", [.literal("channels"), .channel, .literal("messages")], .createMessage),
        ("GET", [.literal("channels"), .channel, .literal("messages"), .message], .getMessage),
        ("PATCH", [.literal("channels"), .channel, .literal("messages"), .message], .editMessage),
        ("DELETE", [.literal("channels"), .channel, .literal("messages"), .message], .deleteMessage),
        ("POST", [.literal("channels"), .channel, .literal("typing")], .triggerTyping),
        ("POST", [.literal("channels"), .channel, .literal("messages"), .message, .literal("ack")], .ackMessage),
        ("POST", [.literal("read-states"), .literal("ack-bulk")], .bulkAck),
        ("GET", [.literal("users"), .literal("@me"), .literal("read-states")], .getReadStates),
        // Concord's addition: sharing a channel with a workspace of another organisation.
        ("POST", [.literal("channels"), .channel, .literal("share-invites")], .createShareInvite),
        ("POST", [.literal("guilds"), .guild, .literal("share-invites"), .invite], .acceptShareInvite),
    ]

    /// The API's path prefixes; Discord's libraries use `/api/v10` (some still `/api/v9`).
    public static let prefixes = ["/api/v10/", "/api/v9/"]

    /// Matches a request path (without query) to a route, or throws Discord's 404/405/400.
    public static func match(method: String, path: String) throws -> Route {
        guard let prefix = prefixes.first(where: { path.hasPrefix($0) }) else { throw APIError.notFound }
        var rest = path.dropFirst(prefix.count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let segments = rest.split(separator: "/", omittingEmptySubsequences: false)
        var pathMatched = false
        for (routeMethod, parts, endpoint) in table where parts.count == segments.count {
            guard let route = try bind(parts, segments, endpoint) else { continue }
            pathMatched = true
            if routeMethod == method { return route }
        }
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
            case .user:
                if segment == "@me" { return nil }
                route.userID = id("user_id")
            case .invite:
                if segment.isEmpty { return nil }
                route.inviteCode = String(segment)
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
