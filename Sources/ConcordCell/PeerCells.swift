import AsyncHTTPClient
import ConcordHTTP
import ConcordModels
import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// The other cells, as one cell reaches them: only to hand a write to a shared channel's home
/// cell (everything else between cells goes through the outbox and the relay).
public final class PeerCells: Sendable {
    let cells: CellClient
    /// Cell id → internal API base URL; set once the cluster's addresses are known.
    private let addresses = Mutex<[Int: String]>([:])

    /// `tls`: the cell's client side of internal TLS. A peer's calls are all answered whole, so
    /// they go over `CellClient`'s own connections; none is streamed, and the process-wide shared
    /// HTTP client it is given (nothing to shut down) carries no call.
    public init(internalSecret: String, tls: TLSConfiguration? = nil) {
        cells = CellClient(http: .shared, secret: internalSecret, tls: tls)
    }

    /// The cluster's cells, reached from `region` (this cell's); `secure`: over internal TLS.
    public func set(_ cells: [ClusterConfig.Cell], from region: String, secure: Bool = false) {
        addresses.withLock { map in
            for cell in cells { map[cell.id] = cell.apiURL(from: region, secure: secure) }
        }
    }

    /// Posts into a shared channel at its home cell for `author`, a member of `workspace` (here);
    /// answers the message JSON the home cell stored. The home cell's errors pass through.
    /// `uploads`: the request's files (stored at the home, named by `baseURL`'s CDN path).
    func postShared(_ channelID: Snowflake, _ request: MessageCreateRequest, author: User, workspace: Snowflake, home: Int,
                    uploads: [Int: Upload] = [:], baseURL: String = "") async throws -> String {
        let post = SharedPost(channel_id: channelID, workspace_id: workspace, author: author, message: request,
                              files: SharedFile.of(uploads), base_url: baseURL)
        return String(decoding: try await send(try InternalAPI.postShared(post), to: home), as: UTF8.self)
    }

    /// Edits or deletes the author's message in a shared channel at its home cell; answers the
    /// edited message's JSON (`{}` for a deletion).
    func changeShared(_ change: SharedChange, home: Int) async throws -> String {
        String(decoding: try await send(try InternalAPI.changeShared(change), to: home), as: UTF8.self)
    }

    /// Adds or takes back a reaction in a shared channel at its home cell for `user`, a member
    /// of a workspace here.
    func reactShared(_ reaction: SharedReaction, home: Int) async throws {
        try await send(try InternalAPI.reactShared(reaction), to: home)
    }

    /// Takes a share invite at the channel's home for a workspace here; answers the channel.
    func claimShare(_ request: SharedHistoryRequest, home: Int) async throws -> GuildChannel {
        try await send(try InternalAPI.claimShare(request), to: home)
    }

    /// A page of a shared channel's history from its home.
    func sharedHistory(_ request: SharedHistoryRequest, home: Int) async throws -> [Message] {
        try await send(try InternalAPI.sharedHistory(request), to: home)
    }

    private func send<Reply>(_ call: CellCall<Reply>, to home: Int) async throws -> Reply {
        guard let base = addresses.withLock({ $0[home] }) else { throw APIError.serviceUnavailable }
        return try await cells.send(call, to: base)
    }
}
