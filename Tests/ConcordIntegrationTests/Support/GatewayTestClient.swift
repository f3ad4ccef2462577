import ConcordGateway
import ConcordModels
import Foundation
import HummingbirdWSClient
import Logging
import NIOSSL
import NIOWebSocket
import Synchronization
import Testing

/// A WebSocket client for gateway tests: collects every frame it receives and sends what the
/// test gives it.
final class GatewayTestClient: Sendable {
    let inbox = Inbox()
    /// What the test sends: text frames, then the close.
    private enum Outgoing: Sendable {
        case text(String)
        case close(WebSocketErrorCode)
    }
    private let outgoing: AsyncStream<Outgoing>.Continuation
    let closed: Task<WebSocketCloseFrame?, any Error>

    /// `tls`: for a wss:// URL, the CA to trust (the test cluster's).
    init(url: String, compression: GatewayCompression? = nil, tls: TLSConfiguration? = nil) {
        let (stream, continuation) = AsyncStream<Outgoing>.makeStream()
        outgoing = continuation
        let inbox = self.inbox
        closed = Task {
            try await WebSocketClient.connect(url: url, tlsConfiguration: tls, logger: TestServers.logger) { inbound, outbound, _ in
                let writer = Task {
                    for await item in stream {
                        switch item {
                        case .text(let text): try await outbound.write(.text(text))
                        case .close(let code): try await outbound.close(code, reason: nil); return
                        }
                    }
                    try await outbound.close(.unknown(4000), reason: nil)
                }
                defer { writer.cancel() }
                let inflater = (compression ?? .zlibStream).makeDecompressor()
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    let text: String? = switch message {
                    case .text(let text): text
                    case .binary(let bytes): inflater.decompress(Array(bytes.readableBytesView)).map { inbox.binaryFrames.add(1, ordering: .relaxed); return $0 }
                    }
                    if let text, let value = try? WireJSON.decode(JSONValue.self, from: Data(text.utf8)) {
                        inbox.frames.withLock { $0.append(value) }
                        if value["op"]?.intValue == 0, let type = value["t"], let data = value["d"] {
                            WireLog.events.record(.object(["t": type, "d": data]))
                        }
                    }
                }
            }
        }
    }

    func send(_ text: String) { outgoing.yield(.text(text)) }

    /// The close code the server sent, waiting at most `timeout` (a hang fails the test instead).
    func closeCode(timeout: Duration = .seconds(10)) async -> WebSocketErrorCode? {
        let closed = self.closed
        guard let code = await withDeadline(timeout, { try? await closed.value?.closeCode }) else {
            Issue.record("the server did not close the connection within \(timeout)")
            return nil
        }
        return code
    }

    /// Closes with 4000 unless told otherwise, as a library dropping its socket to resume does
    /// (1000 or 1001 end the session).
    func close(_ code: WebSocketErrorCode = .unknown(4000)) {
        outgoing.yield(.close(code))
        outgoing.finish()
    }

    var all: [JSONValue] { inbox.frames.withLock { $0 } }
    func dispatches(_ type: String) -> [JSONValue] { all.filter { $0["t"]?.stringValue == type } }

    /// Waits for the first frame that matches, after `skipping` earlier matches.
    @discardableResult
    func wait(for what: String, timeout: Duration = .seconds(20), _ match: @escaping (JSONValue) -> Bool) async throws -> JSONValue {
        try await eventually(what, timeout: timeout) { self.all.contains(where: match) }
        return all.first(where: match)!
    }

    @discardableResult
    func waitDispatch(_ type: String, where extra: @escaping (JSONValue) -> Bool = { _ in true }) async throws -> JSONValue {
        try await wait(for: type) { $0["t"]?.stringValue == type && extra($0) }
    }
}

final class Inbox: Sendable {
    let frames = Mutex<[JSONValue]>([])
    let binaryFrames = Atomic<Int>(0)
}

/// The frames and URLs gateway tests send and connect to.
enum GatewayFrames {
    /// GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT
    static let defaultIntents = 1 | 1 << 9 | 1 << 15

    static func identify(_ token: String, intents: Int = defaultIntents, presence: String? = nil) -> String {
        let p = presence.map { #","presence":{"status":"\#($0)","since":0,"activities":[],"afk":false}"# } ?? ""
        return #"{"op":2,"d":{"token":"\#(token)","intents":\#(intents),"properties":{"os":"linux","browser":"test","device":"test"}\#(p)}}"#
    }

    /// An edge's gateway URL (JSON encoding, v10).
    static func url(_ edgeURL: String) -> String {
        edgeURL.replacingOccurrences(of: "http://", with: "ws://").replacingOccurrences(of: "https://", with: "wss://") + "/gateway?v=10&encoding=json"
    }
}
