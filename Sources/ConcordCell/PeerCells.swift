import AsyncHTTPClient
import ConcordHTTP
import ConcordModels
import Foundation
import NIOCore
import Synchronization

/// The other cells, as one cell reaches them: only to hand a write to a shared channel's home
/// cell (everything else between cells goes through the outbox and the relay).
public final class PeerCells: Sendable {
    let internalSecret: String
    let http: HTTPClient
    /// Cell id → internal API base URL; set once the cluster's addresses are known.
    private let addresses = Mutex<[Int: String]>([:])

    /// The process-wide shared client: nothing to shut down, whoever makes a cell domain.
    public init(internalSecret: String, http: HTTPClient = .shared) {
        self.internalSecret = internalSecret
        self.http = http
    }

    /// The cluster's cells, reached from `region` (this cell's); `secure`: over internal TLS.
    public func set(_ cells: [ClusterConfig.Cell], from region: String, secure: Bool = false) {
        addresses.withLock { map in
            for cell in cells { map[cell.id] = cell.apiURL(from: region, secure: secure) }
        }
    }

    /// A client showing `process`'s certificate, one per certificate for the process's life (a
    /// client must be shut down before it goes, and a cell's peers live as long as it does).
    public static func client(tls: ClusterConfig.InternalTLS, process: String) throws -> HTTPClient {
        let key = tls.certificate(for: process) + "|" + tls.ca
        if let client = clients.withLock({ $0[key] }) { return client }
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = try InternalTLS.client(tls, process: process)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        return clients.withLock { clients in
            if let existing = clients[key] { try? client.syncShutdown(); return existing }
            clients[key] = client
            return client
        }
    }
    private static let clients = Mutex<[String: HTTPClient]>([:])

    /// Posts into a shared channel at its home cell for `author`, a member of `workspace` (here);
    /// answers the message JSON the home cell stored. The home cell's errors pass through.
    /// `uploads`: the request's files (stored at the home, named by `baseURL`'s CDN path).
    func postShared(_ channelID: Snowflake, _ request: MessageCreateRequest, author: User, workspace: Snowflake, home: Int,
                    uploads: [Int: Upload] = [:], baseURL: String = "") async throws -> String {
        try await send("/internal/shared/messages", SharedPost(channel_id: channelID, workspace_id: workspace, author: author, message: request,
                                                                files: SharedFile.of(uploads), base_url: baseURL), to: home)
    }

    /// Edits or deletes the author's message in a shared channel at its home cell; answers the
    /// edited message's JSON (`{}` for a deletion).
    func changeShared(_ change: SharedChange, home: Int) async throws -> String {
        try await send("/internal/shared/messages/change", change, to: home)
    }

    /// Adds or takes back a reaction in a shared channel at its home cell for `user`, a member
    /// of a workspace here.
    func reactShared(_ reaction: SharedReaction, home: Int) async throws {
        _ = try await send("/internal/shared/reactions", reaction, to: home)
    }

    /// Takes a share invite at the channel's home for a workspace here; answers the channel.
    func claimShare(_ request: SharedHistoryRequest, home: Int) async throws -> GuildChannel {
        try WireJSON.decode(GuildChannel.self, from: Data(try await send("/internal/shares/claim", request, to: home).utf8))
    }

    /// A page of a shared channel's history from its home.
    func sharedHistory(_ request: SharedHistoryRequest, home: Int) async throws -> [Message] {
        try WireJSON.decode([Message].self, from: Data(try await send("/internal/shares/history", request, to: home).utf8))
    }

    private func send(_ path: String, _ body: some Encodable, to home: Int) async throws -> String {
        guard let base = addresses.withLock({ $0[home] }) else { throw APIError.serviceUnavailable }
        var outgoing = HTTPClientRequest(url: base + path)
        outgoing.method = .POST
        outgoing.headers.add(name: "X-Concord-Internal", value: internalSecret)
        for (name, value) in RequestID.outgoingHeaders { outgoing.headers.add(name: name, value: value) }
        outgoing.headers.add(name: "Content-Type", value: "application/json")
        outgoing.body = .bytes(ByteBuffer(bytes: try WireJSON.encode(body)))
        let response: HTTPClientResponse
        let reply: ByteBuffer
        do {
            response = try await http.execute(outgoing, timeout: .seconds(30))
            reply = try await response.body.collect(upTo: 16 << 20)
        } catch {
            throw APIError.serviceUnavailable
        }
        let text = String(buffer: reply)
        guard response.status == .ok else {
            let error = try? WireJSON.decode(JSONValue.self, from: Data(text.utf8))
            throw APIError(status: Int(response.status.code), code: Int(error?["code"]?.intValue ?? 0),
                           message: error?["message"]?.stringValue ?? "The channel's home cell refused the write")
        }
        return text
    }
}

/// A write to a shared channel handed to its home cell.
public struct SharedPost: Codable, Sendable {
    public var channel_id: Snowflake
    public var workspace_id: Snowflake
    public var author: User
    public var message: MessageCreateRequest
    /// Its files (their bytes base64 in the JSON), and the edge they came through.
    public var files: [SharedFile]?
    public var base_url: String?
}

/// A file of a message handed to a shared channel's home.
public struct SharedFile: Codable, Sendable {
    public var index: Int
    public var filename: String
    public var content_type: String?
    public var data: Data

    static func of(_ uploads: [Int: Upload]) -> [SharedFile]? {
        let files = uploads.map { SharedFile(index: $0.key, filename: $0.value.filename, content_type: $0.value.contentType, data: $0.value.data) }
        return files.isEmpty ? nil : files
    }
}

/// A write handed to a shared channel's home with the files it uploads.
protocol CarriesSharedFiles {
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
}

/// A cell accepting a share invite asks the channel's home to take the code (`code`), then for
/// the channel's history a page at a time (`channel_id`, `before`).
public struct SharedHistoryRequest: Codable, Sendable {
    public var channel_id: Snowflake?
    public var workspace_id: Snowflake
    public var code: String?
    public var before: Snowflake?
}
