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
            guard let visible = text.map({ PresenceState(stored: $0).visible }), visible.status != .offline,
                  let data = try? WireJSON.encode(PresenceUpdatePayload(userID: user, guildID: guild, state: visible)) else { return nil }
            return try? WireJSON.decode(JSONValue.self, from: data)
        }
    }
}
