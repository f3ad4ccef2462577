import Foundation

// The writes a replica of a shared channel hands to the channel's home cell (see `InternalAPI`).

/// A write to a shared channel handed to its home cell.
public struct SharedPost: Codable, Sendable {
    public var channel_id: Snowflake
    public var workspace_id: Snowflake
    public var author: User
    public var message: MessageCreateRequest
    /// Its files (their bytes base64 in the JSON), and the edge they came through.
    public var files: [SharedFile]?
    public var base_url: String?

    public init(channel_id: Snowflake, workspace_id: Snowflake, author: User, message: MessageCreateRequest, files: [SharedFile]?, base_url: String?) {
        self.channel_id = channel_id; self.workspace_id = workspace_id; self.author = author; self.message = message
        self.files = files; self.base_url = base_url
    }
}

/// A file of a message handed to a shared channel's home.
public struct SharedFile: Codable, Sendable {
    public var index: Int
    public var filename: String
    public var content_type: String?
    public var data: Data

    public static func of(_ uploads: [Int: Upload]) -> [SharedFile]? {
        let files = uploads.map { SharedFile(index: $0.key, filename: $0.value.filename, content_type: $0.value.contentType, data: $0.value.data) }
        return files.isEmpty ? nil : files
    }
}

/// A write handed to a shared channel's home with the files it uploads.
public protocol CarriesSharedFiles {
    var files: [SharedFile]? { get }
}

extension CarriesSharedFiles {
    public var uploads: [Int: Upload] {
        Dictionary((files ?? []).map { ($0.index, Upload(filename: $0.filename, contentType: $0.content_type, data: $0.data)) },
                   uniquingKeysWith: { first, _ in first })
    }
}

extension SharedPost: CarriesSharedFiles {}
extension SharedChange: CarriesSharedFiles {}

/// An edit (`edit` set) or deletion of the author's own message in a shared channel, handed to
/// its home cell.
public struct SharedChange: Codable, Sendable {
    public var channel_id: Snowflake
    public var workspace_id: Snowflake
    public var author: User
    public var message_id: Snowflake
    public var edit: MessageEditRequest?
    /// An edit's new files (bytes base64), and the edge they came through.
    public var files: [SharedFile]? = nil
    public var base_url: String? = nil

    public init(channel_id: Snowflake, workspace_id: Snowflake, author: User, message_id: Snowflake, edit: MessageEditRequest?,
                files: [SharedFile]? = nil, base_url: String? = nil) {
        self.channel_id = channel_id; self.workspace_id = workspace_id; self.author = author; self.message_id = message_id
        self.edit = edit; self.files = files; self.base_url = base_url
    }
}

/// A member of another cell's workspace adds (`added`) or takes back their reaction to a
/// message of a shared channel, handed to the channel's home.
public struct SharedReaction: Codable, Sendable {
    public var channel_id: Snowflake
    public var workspace_id: Snowflake
    public var user: User
    public var message_id: Snowflake
    public var emoji: String
    public var added: Bool

    public init(channel_id: Snowflake, workspace_id: Snowflake, user: User, message_id: Snowflake, emoji: String, added: Bool) {
        self.channel_id = channel_id; self.workspace_id = workspace_id; self.user = user; self.message_id = message_id
        self.emoji = emoji; self.added = added
    }
}

/// A cell accepting a share invite asks the channel's home to take the code (`code`), then for
/// the channel's history a page at a time (`channel_id`, `before`).
public struct SharedHistoryRequest: Codable, Sendable {
    public var channel_id: Snowflake?
    public var workspace_id: Snowflake
    public var code: String?
    public var before: Snowflake?

    public init(channel_id: Snowflake?, workspace_id: Snowflake, code: String?, before: Snowflake?) {
        self.channel_id = channel_id; self.workspace_id = workspace_id; self.code = code; self.before = before
    }
}
