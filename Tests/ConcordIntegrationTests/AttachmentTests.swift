import AsyncHTTPClient
import ConcordAuth
import ConcordModels
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import Testing

/// Files on messages as Discord's libraries send them (multipart/form-data with payload_json
/// and files[n]), stored once per content, served by signed expiring URLs at Discord's CDN
/// path with byte ranges, never as a page of Concord's origin.
@Suite("Attachments")
struct AttachmentTests {
    /// A PNG's signature and IHDR chunk (width 2, height 3): all a header read needs.
    static let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
                           0, 0, 0, 2, 0, 0, 0, 3, 8, 6, 0, 0, 0]) + Data(repeating: 7, count: 100)

    struct File { var field: String; var name: String; var type: String; var data: Data }

    static func form(_ payload: String?, _ files: [File], boundary: String = "concord-test-boundary") -> (String, Data) {
        var body = Data()
        if let payload {
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n\(payload)\r\n".utf8)
        }
        for file in files {
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.field)\"; filename=\"\(file.name)\"\r\nContent-Type: \(file.type)\r\n\r\n".utf8)
            body += file.data + Data("\r\n".utf8)
        }
        body += Data("--\(boundary)--\r\n".utf8)
        return ("multipart/form-data; boundary=\(boundary)", body)
    }

    static func send(_ c: TestCluster, _ method: HTTPMethod, _ path: String, token: String, form: (String, Data), edge: Int = 0) async throws -> TestCluster.Reply {
        var request = HTTPClientRequest(url: c.edgeURLs[edge] + "/api/v10" + path)
        request.method = method
        request.headers.add(name: "Authorization", value: token)
        request.headers.add(name: "Content-Type", value: form.0)
        request.body = .bytes(ByteBuffer(data: form.1))
        let response = try await c.http.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 20)
        let reply = TestCluster.Reply(status: Int(response.status.code), headers: response.headers, body: Data(body.readableBytesView))
        WireLog.recordResponse(method: method.rawValue, path: path, status: reply.status, body: reply.body)
        return reply
    }

    static func download(_ c: TestCluster, _ url: String, range: String? = nil) async throws -> (status: Int, headers: HTTPHeaders, body: Data) {
        var request = HTTPClientRequest(url: url)
        if let range { request.headers.add(name: "Range", value: range) }
        let response = try await c.http.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 32 << 20)
        return (Int(response.status.code), response.headers, Data(body.readableBytesView))
    }

    static func blobs(_ c: TestCluster) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: c.config.cells[0].blobDirectory)) ?? []).filter { !$0.hasPrefix(".") }
    }

    @Test func filesAreStoredOnceAndServedSafelyBySignedURLs() async throws {
        try await TestCluster.with { c in
            let pair = try await c.workspaceOfTwo("Files")
            let (alice, bob, general) = (pair.owner.token, pair.member.token, pair.general)
            let session = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            session.send(GatewayFrames.identify(bob))
            _ = try await session.waitDispatch("GUILD_CREATE")

            // As discord.py sends two files: payload_json naming them, files[0] and files[1].
            let page = Data("<html><script>alert(1)</script></html>".utf8)
            let sent = try await Self.send(c, .POST, "/channels/\(general)/messages", token: alice, form: Self.form(
                #"{"content":"two files","attachments":[{"id":0,"filename":"my picture.png","description":"a tiny image"},{"id":1,"filename":"page.html"}]}"#,
                [File(field: "files[0]", name: "my picture.png", type: "image/png", data: Self.png),
                 File(field: "files[1]", name: "page.html", type: "text/html", data: page)]))
            #expect(sent.status == 200, "\(sent.text)")
            let message = try sent.decode(Message.self)
            #expect(message.attachments.map(\.filename) == ["my_picture.png", "page.html"], "names made safe for a URL")
            let image = message.attachments[0], html = message.attachments[1]
            #expect(image.size == Self.png.count && image.content_type == "image/png" && image.width == 2 && image.height == 3)
            #expect(image.description == "a tiny image" && image.proxy_url == image.url)
            #expect(image.url.hasPrefix(c.edgeURL + "/attachments/\(general)/\(image.id)/my_picture.png?ex=") && image.url.contains("&hm="))
            #expect(html.content_type == "application/octet-stream" && html.width == nil, "HTML is stored as bytes to download")
            let created = try await session.waitDispatch("MESSAGE_CREATE") { $0["d"]?["id"]?.stringValue == message.id.description }
            #expect(created["d"]?["attachments"]?.arrayValue?.count == 2)

            // Served whole and by range, safely.
            let whole = try await Self.download(c, image.url)
            #expect(whole.status == 200 && whole.body == Self.png)
            #expect(whole.headers.first(name: "Content-Type") == "image/png" && whole.headers.first(name: "X-Content-Type-Options") == "nosniff")
            #expect(whole.headers.first(name: "Content-Security-Policy")?.contains("sandbox") == true)
            #expect(whole.headers.first(name: "Content-Disposition")?.hasPrefix("inline") == true)
            let part = try await Self.download(c, image.url, range: "bytes=1-3")
            #expect(part.status == 206 && part.body == Self.png[1...3] && part.headers.first(name: "Content-Range") == "bytes 1-3/\(Self.png.count)")
            #expect(try await Self.download(c, image.url, range: "bytes=9999-").status == 416)
            let served = try await Self.download(c, html.url)
            #expect(served.body == page && served.headers.first(name: "Content-Type") == "application/octet-stream")
            #expect(served.headers.first(name: "Content-Disposition")?.hasPrefix("attachment") == true, "never rendered in Concord's origin")

            // A URL changed, unsigned or expired is not served; every edge serves a good one.
            let unsigned = String(image.url.prefix { $0 != "?" })
            #expect(try await Self.download(c, unsigned).status == 404)
            #expect(try await Self.download(c, image.url.replacingOccurrences(of: "my_picture", with: "other_picture")).status == 404)
            let tampered = String(image.url.dropLast()) + (image.url.hasSuffix("0") ? "1" : "0")
            #expect(try await Self.download(c, tampered).status == 404)
            let links = AttachmentLinks(tokens: TokenAuthority(secret: c.secrets.tokenSecret))
            #expect(try await Self.download(c, links.signed(unsigned, now: Date().addingTimeInterval(-30 * 86_400))).status == 404, "expired")
            #expect(try await Self.download(c, links.signed(unsigned)).status == 200)

            // The same bytes again (files only, no payload_json): one blob.
            let before = Self.blobs(c)
            #expect(before.count == 2)
            let again = try await Self.send(c, .POST, "/channels/\(general)/messages", token: bob,
                                            form: Self.form(nil, [File(field: "files[0]", name: "copy.png", type: "image/png", data: Self.png)]))
            #expect(again.status == 200, "\(again.text)")
            let copy = try again.decode(Message.self)
            #expect(copy.content == "" && copy.attachments.map(\.filename) == ["copy.png"])
            #expect(Self.blobs(c) == before, "identical uploads are stored once")

            // Reads carry the attachments with fresh signatures.
            let read = try await c.request(.GET, "/channels/\(general)/messages/\(message.id)", token: bob).decode(Message.self)
            #expect(read.attachments.map(\.id) == [image.id, html.id])
            #expect(try await Self.download(c, read.attachments[0].url).body == Self.png)

            // An edit keeps what it lists; the blob of what it drops goes when nothing names it.
            let edited = try await c.request(.PATCH, "/channels/\(general)/messages/\(message.id)", token: alice,
                                             json: #"{"attachments":[{"id":"\#(image.id)"}]}"#)
            let kept = try edited.decode(Message.self)
            #expect(kept.attachments.map(\.id) == [image.id])
            #expect(Self.blobs(c).count == 1, "the HTML's blob is gone")
            #expect(try await Self.download(c, html.url).status == 404)
            #expect(try await c.request(.DELETE, "/channels/\(general)/messages/\(message.id)", token: alice).status == 204)
            #expect(Self.blobs(c).count == 1, "the PNG is still the copy's")
            #expect(try await Self.download(c, copy.attachments[0].url).body == Self.png)
            #expect(try await c.request(.DELETE, "/channels/\(general)/messages/\(copy.id)", token: bob).status == 204)
            #expect(Self.blobs(c).isEmpty, "no attachment names it: gone")
        }
    }

    /// Files are read from the store and passed on a piece at a time (256 KiB), so byte ranges
    /// across pieces come out whole, and a client that asks for a large file and never reads
    /// it holds up only its own download.
    @Test func largeFilesAreServedAPieceAtATime() async throws {
        try await TestCluster.with { c in
            let pair = try await c.workspaceOfTwo("Pieces")
            var generator = SplitMix(state: 17)
            let bytes = Data((0..<(3 * (256 << 10) + 1234)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
            let sent = try await Self.send(c, .POST, "/channels/\(pair.general)/messages", token: pair.owner.token,
                                           form: Self.form(nil, [File(field: "files[0]", name: "noise.bin", type: "application/octet-stream", data: bytes)]))
            let url = try sent.decode(Message.self).attachments[0].url

            let (port, path) = (c.edgePort, String(url.dropFirst(c.edgeURL.count)))
            let stalled = try await offThePool { () -> Int32 in
                let fd = try connectToLoopback(port: port, receiveBuffer: 4096)
                let head = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
                _ = head.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                return fd
            }
            defer { close(stalled) }

            let whole = try await Self.download(c, url)
            #expect(whole.status == 200 && whole.body == bytes && whole.headers.first(name: "Content-Length") == String(bytes.count))
            for (asked, expected) in [("bytes=262000-524400", 262_000...524_400), ("bytes=786431-786432", 786_431...786_432),
                                      ("bytes=-1300", (bytes.count - 1300)...(bytes.count - 1)), ("bytes=0-0", 0...0)] {
                let part = try await Self.download(c, url, range: asked)
                #expect(part.status == 206 && part.body == bytes[expected], "\(asked)")
                #expect(part.headers.first(name: "Content-Range") == "bytes \(expected.lowerBound)-\(expected.upperBound)/\(bytes.count)")
            }
        }
    }

    /// A deleted channel takes its attachment rows along; the sweep removes their blobs at its
    /// second look (a blob is written a moment before its row), and keeps those still named.
    @Test func blobsOfDeletedChannelsAreSwept() async throws {
        try await TestCluster.with { c in
            let pair = try await c.workspaceOfTwo("Sweep")
            let doomed = try await c.request(.POST, "/guilds/\(pair.guild.id)/channels", token: pair.owner.token, json: #"{"name":"doomed"}"#).decode(GuildChannel.self)
            for (channel, text) in [(doomed.id, "goes"), (pair.general, "stays")] {
                let sent = try await Self.send(c, .POST, "/channels/\(channel)/messages", token: pair.owner.token,
                                               form: Self.form(nil, [File(field: "files[0]", name: "\(text).txt", type: "text/plain", data: Data(text.utf8))]))
                #expect(sent.status == 200, "\(sent.text)")
            }
            #expect(Self.blobs(c).count == 2)
            #expect(try await c.request(.DELETE, "/channels/\(doomed.id)", token: pair.owner.token).status == 200)
            #expect(try await c.domain.sweepBlobs() == 0, "the first look only notes it")
            #expect(Self.blobs(c).count == 2)
            #expect(try await c.domain.sweepBlobs() == 1)
            let sha = SHA256.hash(data: Data("stays".utf8)).map { String(format: "%02x", $0) }.joined()
            #expect(Self.blobs(c) == [sha], "the named one stays")
        }
    }

    @Test func uploadsAreCheckedBeforeAnythingIsStored() async throws {
        try await TestCluster.with { c in
            let pair = try await c.workspaceOfTwo("Limits")
            let (alice, bob, guild, general) = (pair.owner.token, pair.member.token, pair.guild, pair.general)
            let path = "/channels/\(general)/messages"

            // Over the 10 MiB limit: Discord's 413.
            let big = File(field: "files[0]", name: "big.bin", type: "application/octet-stream", data: Data(repeating: 1, count: Limits.uploadBytes + 1))
            let tooBig = try await Self.send(c, .POST, path, token: alice, form: Self.form(#"{"content":"big"}"#, [big]))
            #expect(tooBig.status == 413 && tooBig.json?["code"]?.intValue == 40005, "\(tooBig.text)")
            // An attachment without its file, a malformed body, JSON naming a file it does not carry.
            let missing = try await Self.send(c, .POST, path, token: alice, form: Self.form(#"{"attachments":[{"id":3}]}"#,
                                                [File(field: "files[0]", name: "a.txt", type: "text/plain", data: Data("a".utf8))]))
            #expect(missing.status == 400 && missing.json?["code"]?.intValue == 50035, "\(missing.text)")
            let broken = try await Self.send(c, .POST, path, token: alice, form: ("multipart/form-data; boundary=xyz", Data("--xyz\r\nno headers".utf8)))
            #expect(broken.status == 400 && broken.json?["code"]?.intValue == 50035)
            let json = try await c.request(.POST, path, token: alice, json: #"{"attachments":[{"id":0}]}"#)
            #expect(json.status == 400 && json.json?["code"]?.intValue == 50035)
            // Eleven files.
            let eleven = (0...10).map { File(field: "files[\($0)]", name: "f\($0).txt", type: "text/plain", data: Data("\($0)".utf8)) }
            #expect(try await Self.send(c, .POST, path, token: alice, form: Self.form(nil, eleven)).status == 400)
            // Without ATTACH_FILES.
            let deny = Permissions.attachFiles.rawValue
            #expect(try await c.request(.PUT, "/channels/\(general)/permissions/\(guild.id)", token: alice, json: #"{"type":0,"deny":"\#(deny)"}"#).status == 204)
            let refused = try await Self.send(c, .POST, path, token: bob, form: Self.form(nil, [File(field: "files[0]", name: "a.txt", type: "text/plain", data: Data("a".utf8))]))
            #expect(refused.status == 403 && refused.json?["code"]?.intValue == 50013)
            #expect(Self.blobs(c).isEmpty, "nothing refused was stored")
            // A text file: served as plain text.
            let text = try await Self.send(c, .POST, path, token: alice, form: Self.form(nil, [File(field: "files[0]", name: "notes.txt", type: "text/plain", data: Data("hi\n".utf8))]))
            let note = try text.decode(Message.self).attachments[0]
            #expect(note.content_type == "text/plain; charset=utf-8")
        }
    }
}
