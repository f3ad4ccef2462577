import Foundation

/// A user's chosen status, as IDENTIFY's presence and op 3 set it.
public enum PresenceStatus: String, Codable, Sendable, CaseIterable {
    case online, idle, dnd, invisible, offline

    /// What others see: invisible looks offline.
    public var visible: PresenceStatus { self == .invisible ? .offline : self }
}

/// A user's presence while any of their sessions is live: status and custom status text.
public struct PresenceState: Codable, Sendable, Equatable {
    public var status: PresenceStatus
    public var custom_status: String?

    public init(status: PresenceStatus, customStatus: String? = nil) {
        self.status = status
        self.custom_status = customStatus
    }

    public static let offline = PresenceState(status: .offline)

    /// The same presence as others see it.
    public var visible: PresenceState { status == .invisible ? .offline : self }
}

/// An edge's report to a user's home cell: the user is online (a first session there) or
/// changed status. `expires_at` is when the presence lapses unless refreshed (Unix ms).
public struct PresenceReport: Codable, Sendable, Equatable {
    public var user_id: Snowflake
    public var state: PresenceState
    public var expires_at: Int64

    public init(userID: Snowflake, state: PresenceState, expiresAt: Int64) {
        user_id = userID
        self.state = state
        expires_at = expiresAt
    }
}

/// PRESENCE_UPDATE's `d`, in Discord's shape (a custom status is an activity of type 4).
public struct PresenceUpdatePayload: Codable, Sendable, Equatable {
    public struct UserRef: Codable, Sendable, Equatable { public var id: Snowflake }
    public struct Activity: Codable, Sendable, Equatable {
        public var name = "Custom Status"
        public var type = 4
        public var state: String
    }
    public struct ClientStatus: Codable, Sendable, Equatable { public var web: String? }

    public var user: UserRef
    public var guild_id: Snowflake?
    public var status: String
    public var activities: [Activity]
    public var client_status: ClientStatus

    public init(userID: Snowflake, guildID: Snowflake?, state: PresenceState) {
        user = UserRef(id: userID)
        guild_id = guildID
        status = state.status.rawValue
        activities = state.custom_status.map { [Activity(state: $0)] } ?? []
        client_status = ClientStatus(web: state.status == .offline ? nil : state.status.rawValue)
    }
}

extension PresenceState {
    /// A state as the presence hash keeps it ("offline", or its JSON); anything unreadable is offline.
    public init(stored text: String) {
        self = text == "offline" ? .offline : (try? WireJSON.decode(PresenceState.self, from: Data(text.utf8))) ?? .offline
    }
}

extension PresenceUpdatePayload {
    /// The `presences` of GUILD_CREATE and GUILD_MEMBERS_CHUNK: those of these users that others
    /// see online, from their stored states (nil: no live presence).
    public static func listed(_ stored: [(user: Snowflake, state: String?)], guild: Snowflake) -> [JSONValue] {
        stored.compactMap { user, text in
            guard let visible = text.map({ PresenceState(stored: $0).visible }), visible.status != .offline else { return nil }
            return PresenceUpdatePayload(userID: user, guildID: guild, state: visible).jsonValue
        }
    }

    /// Whom a PRESENCE_UPDATE's payload is about (`user.id`), read without decoding the rest: an
    /// edge routing a workspace's presence skips the user's own sessions, which get their real
    /// status on their own topic. The decoder reads what the reader does not take.
    public static func userID(inPayload payload: String) -> Snowflake? {
        var reader = JSONReader(Array(payload.utf8))
        var id: Snowflake?
        let read: Void? = try? reader.object { reader, key in
            guard key == "user" else { _ = try reader.skipValue(); return }
            try reader.object { reader, key in
                if key == "id" { id = try reader.snowflake() } else { _ = try reader.skipValue() }
            }
        }
        if read != nil, reader.atEnd(), let id { return id }
        return (try? WireJSON.decode(PresenceUpdatePayload.self, from: Data(payload.utf8)))?.user.id
    }

    /// As the decoder reads `WireJSON.encode(self)` back (a GUILD_CREATE's list of presences).
    public var jsonValue: JSONValue {
        .object(["user": .object(["id": .string(user.id.description)]), "guild_id": guild_id.map { .string($0.description) } ?? .null,
                 "status": .string(status),
                 "activities": .array(activities.map { .object(["name": .string($0.name), "type": .int(Int64($0.type)), "state": .string($0.state)]) }),
                 "client_status": .object(["web": client_status.web.map(JSONValue.string) ?? .null])])
    }

    /// As `WireJSON.encodeString(self)` writes it: every presence change is published to each
    /// of its user's workspaces, a thousand of them when an edge's sessions come back at once.
    public func wireJSON() -> String {
        var out = JSONBytes(capacity: 160)
        out.raw("{\"activities\":")
        out.array(activities) { out, activity in
            out.raw("{\"name\":"); out.string(activity.name); out.raw(",\"state\":"); out.string(activity.state)
            out.raw(",\"type\":"); out.int(activity.type); out.raw("}")
        }
        out.raw(",\"client_status\":{\"web\":"); out.optionalString(client_status.web)
        out.raw("},\"guild_id\":"); out.optionalSnowflake(guild_id)
        out.raw(",\"status\":"); out.string(status)
        out.raw(",\"user\":{\"id\":"); out.snowflake(user.id); out.raw("}}")
        return String(decoding: out.bytes, as: UTF8.self)
    }
}
