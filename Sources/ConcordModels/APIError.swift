/// Every error a client can see, with Discord's JSON code and HTTP status in one table.
public struct APIError: Error, Sendable, Equatable {
    public let status: Int
    public let code: Int
    public let message: String
    public let errors: FormErrors?
    /// Seconds, for 429 responses.
    public let retryAfter: Double?
    /// A 429 of the global (per-user, every route) limit rather than a route's.
    public let global: Bool

    public init(status: Int, code: Int, message: String, errors: FormErrors? = nil, retryAfter: Double? = nil, global: Bool = false) {
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.retryAfter = retryAfter
        self.global = global
    }

    public static let unauthorized = APIError(status: 401, code: 0, message: "401: Unauthorized")
    public static let notFound = APIError(status: 404, code: 0, message: "404: Not Found")
    public static let methodNotAllowed = APIError(status: 405, code: 0, message: "405: Method Not Allowed")
    public static let unknownChannel = APIError(status: 404, code: 10003, message: "Unknown Channel")
    public static let unknownGuild = APIError(status: 404, code: 10004, message: "Unknown Guild")
    public static let unknownInvite = APIError(status: 404, code: 10006, message: "Unknown Invite")
    public static let unknownMember = APIError(status: 404, code: 10007, message: "Unknown Member")
    public static let unknownMessage = APIError(status: 404, code: 10008, message: "Unknown Message")
    public static let unknownUser = APIError(status: 404, code: 10013, message: "Unknown User")
    public static let unknownRole = APIError(status: 404, code: 10011, message: "Unknown Role")
    public static let unknownBan = APIError(status: 404, code: 10026, message: "Unknown Ban")
    public static let unknownEmoji = APIError(status: 404, code: 10014, message: "Unknown Emoji")
    public static let maximumPins = APIError(status: 400, code: 30003, message: "Maximum number of pins reached (\(Limits.pinsPerChannel))")
    public static let maximumReactions = APIError(status: 400, code: 30010, message: "Maximum number of reactions reached (\(Limits.reactionEmojiPerMessage))")
    public static let dmChannelAction = APIError(status: 400, code: 50003, message: "Cannot execute action on a DM channel")
    public static let systemMessageAction = APIError(status: 400, code: 50021, message: "Cannot execute action on a system message")
    public static let bulkDeleteTooOld = APIError(status: 400, code: 50034, message: "You can only bulk delete messages that are under 14 days old.")
    public static let bannedFromGuild = APIError(status: 403, code: 40007, message: "The user is banned from this guild.")
    public static let failedToBanUsers = APIError(status: 400, code: 500000, message: "Failed to ban users")
    public static let ownerCannotLeave = APIError(status: 400, code: 50055, message: "Invalid Guild (the owner cannot leave their workspace)")
    /// Between edge and cell only: the caller is homed in another cell and this cell has no copy
    /// of their profile yet (the edge copies it from the home cell and retries).
    public static let profileNotHere = APIError(status: 409, code: 10013, message: "Unknown User in this cell")
    /// Between edge and cell only: the workspace has moved to another cell (its directory entry
    /// says which); the edge reloads the directory and sends the request there.
    public static let movedAway = APIError(status: 421, code: 0, message: "421: Misdirected Request (the workspace has moved to another cell)")
    public static let commandsUnsupported = APIError(status: 400, code: invalidFormCode, message: "Invalid Form Body (Concord has no application commands yet)")
    public static let unknownApplication = APIError(status: 404, code: 10002, message: "Unknown Application")
    public static let botsCannotUse = APIError(status: 403, code: 20001, message: "Bots cannot use this endpoint")
    public static let onlyBots = APIError(status: 403, code: 20002, message: "Only bots can use this endpoint")
    public static let missingAccess = APIError(status: 403, code: 50001, message: "Missing Access")
    public static let cannotEditOthersMessage = APIError(status: 403, code: 50005, message: "Cannot edit a message authored by another user")
    public static let emptyMessage = APIError(status: 400, code: 50006, message: "Cannot send an empty message")
    public static let cannotSendToUser = APIError(status: 400, code: 50007, message: "Cannot send messages to this user")
    public static let nonTextChannel = APIError(status: 400, code: 50008, message: "Cannot send messages in a non-text channel")
    public static let missingPermissions = APIError(status: 403, code: 50013, message: "Missing Permissions")
    public static let invalidJSON = APIError(status: 400, code: 50109, message: "The request body contains invalid JSON.")
    public static let payloadTooLarge = APIError(status: 413, code: 40005, message: "Request entity too large")
    /// A body that is not declared as JSON is not read as JSON (Discord's REST API takes JSON only here).
    public static let unsupportedMediaType = APIError(status: 415, code: 0, message: "415: Unsupported Media Type (send Content-Type: application/json)")
    public static let serviceUnavailable = APIError(status: 503, code: 0, message: "503: Service Unavailable")
    public static let internalError = APIError(status: 500, code: 0, message: "500: Internal Server Error")

    /// Between cells only: a follower of the outbox asked for rows that were pruned before it read them.
    public static func outboxPruned(after: Int64) -> APIError {
        APIError(status: 410, code: 0, message: "410: outbox rows after \(after) were pruned before this follower read them; its copy cannot be completed from the outbox")
    }

    public static let invalidFormCode = 50035
    public static func invalidForm(_ errors: FormErrors) -> APIError {
        APIError(status: 400, code: invalidFormCode, message: "Invalid Form Body", errors: errors)
    }

    /// A login no account of this cell matches (or a wrong password): the same answer for both.
    public static let invalidLogin: APIError = {
        var errors = FormErrors()
        errors.add(["login"], code: "INVALID_LOGIN", message: "Login or password is invalid.")
        errors.add(["password"], code: "INVALID_LOGIN", message: "Login or password is invalid.")
        return invalidForm(errors)
    }()

    public static func rateLimited(retryAfter: Double, global: Bool) -> APIError {
        APIError(status: 429, code: 0, message: "You are being rate limited.", retryAfter: retryAfter, global: global)
    }
}

/// Discord's nested `errors` object: `{"content":{"_errors":[{"code":…,"message":…}]}}`.
/// Paths are field names or array indices, e.g. `["embeds", "0", "title"]`.
public struct FormErrors: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let path: [String]
        public let code: String
        public let message: String
    }
    public private(set) var entries: [Entry] = []
    public init() {}
    public var isEmpty: Bool { entries.isEmpty }

    public mutating func add(_ path: [String], code: String, message: String) {
        entries.append(Entry(path: path, code: code, message: message))
    }
    public mutating func merge(_ other: FormErrors, under prefix: [String] = []) {
        for e in other.entries { add(prefix + e.path, code: e.code, message: e.message) }
    }
    public func throwIfAny() throws {
        if !isEmpty { throw APIError.invalidForm(self) }
    }
    public static func single(_ path: [String], code: String, message: String) -> FormErrors {
        var errors = FormErrors()
        errors.add(path, code: code, message: message)
        return errors
    }
}
