import ConcordAuth
import ConcordHTTP
import ConcordModels
import Foundation
import Testing

/// The pure parts of files and reactions: multipart bodies, byte ranges, image headers,
/// content types, signed links and emoji.
@Suite("Attachments and reactions (pure logic)")
struct AttachmentUnitTests {
    static func body(_ parts: [(String, String?, String)], boundary: String = "b0undary") -> Data {
        var text = ""
        for (name, filename, content) in parts {
            text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"" + (filename.map { "; filename=\"\($0)\"" } ?? "") + "\r\n\r\n\(content)\r\n"
        }
        return Data((text + "--\(boundary)--\r\n").utf8)
    }

    @Test func multipartBodiesAreReadAsLibrariesWriteThem() throws {
        #expect(MultipartForm.boundary(of: "multipart/form-data; boundary=\"abc\"") == "abc")
        #expect(MultipartForm.boundary(of: "application/json") == nil)
        let form = try MultipartForm(body: Self.body([("payload_json", nil, #"{"content":"hi"}"#), ("files[1]", "b.txt", "second"),
                                                      ("files[0]", "a.txt", "first\r\n--not the boundary")]), boundary: "b0undary")
        #expect(String(decoding: form.payloadJSON, as: UTF8.self) == #"{"content":"hi"}"#)
        #expect(form.files.mapValues { String(decoding: $0.data, as: UTF8.self) } == [0: "first\r\n--not the boundary", 1: "second"])
        #expect(form.files[1]?.filename == "b.txt" && form.fileBytes == 31)
        for broken in ["", "--b0undary", "--b0undary\r\nno end of headers", "--b0undary\r\nX: y\r\n\r\nno closing delimiter",
                       "--b0undary\r\nContent-Type: text/plain\r\n\r\nno name\r\n--b0undary--"] {
            #expect(throws: APIError.self) { try MultipartForm(body: Data(broken.utf8), boundary: "b0undary") }
        }
        let eleven = Self.body((0...11).map { ("files[\($0)]", "f.txt", "x") })
        #expect(throws: APIError.self) { try MultipartForm(body: eleven, boundary: "b0undary") }
    }

    @Test func byteRangesFollowRFC9110() {
        #expect(ByteRange.parse("bytes=0-9", size: 100) == 0...9)
        #expect(ByteRange.parse("bytes=90-", size: 100) == 90...99)
        #expect(ByteRange.parse("bytes=-10", size: 100) == 90...99)
        #expect(ByteRange.parse("bytes=-1000", size: 100) == 0...99)
        #expect(ByteRange.parse("bytes=50-5000", size: 100) == 50...99)
        #expect(ByteRange.parse("bytes=0-1, 5-6", size: 100) == 0...1, "a list is read as its first range")
        for bad in ["bytes=100-", "bytes=9-3", "bytes=-0", "items=0-1", "bytes=x-y", "bytes=99999999999999999999-"] {
            #expect(ByteRange.parse(bad, size: 100) == nil, "\(bad)")
        }
    }

    @Test func imageSizesComeFromHeadersAndUnsafeTypesAreDownloads() {
        let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 1, 0, 0, 0, 0, 200])
        #expect(UploadKind.dimensions(png)! == (256, 200))
        let gif = Data("GIF89a".utf8) + Data([0x20, 0x03, 0x58, 0x02])
        #expect(UploadKind.dimensions(gif)! == (800, 600))
        // A JPEG: SOI, an APP0 segment of 16 bytes, then SOF0 with height 480 and width 640.
        let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 16] + Array(repeating: 0, count: 14) + [0xFF, 0xC0, 0, 17, 8, 0x01, 0xE0, 0x02, 0x80, 3])
        #expect(UploadKind.dimensions(jpeg)! == (640, 480))
        #expect(UploadKind.dimensions(Data("not an image".utf8)) == nil)
        #expect(UploadKind.dimensions(Data(png.prefix(20))) == nil, "a header cut short")
        #expect(UploadKind.contentType(declared: "text/html", bytes: Data("<html>".utf8)) == "application/octet-stream")
        #expect(UploadKind.contentType(declared: "image/svg+xml", bytes: Data("<svg/>".utf8)) == "application/octet-stream")
        #expect(UploadKind.contentType(declared: "application/octet-stream", bytes: png) == "image/png", "sniffed")
        #expect(UploadKind.contentType(declared: "text/plain", bytes: Data("x".utf8)) == "text/plain; charset=utf-8")
        #expect(Attachment.safeFilename("my file (1).png") == "my_file__1_.png")
        #expect(Attachment.safeFilename("..") == "unknown" && Attachment.safeFilename("../../etc/passwd") == ".._.._etc_passwd")
        #expect(Attachment.safeFilename(String(repeating: "é", count: 300)).count == Limits.filenameLength)
    }

    @Test func linksAreSignedExpiringAndTamperProof() {
        let links = AttachmentLinks(tokens: TokenAuthority(secret: Array("a secret of some length".utf8)))
        let now = Date()
        let signed = links.signed("http://edge:1/attachments/1/2/a.png", now: now)
        let query = Dictionary(uniqueKeysWithValues: signed.split(separator: "?")[1].split(separator: "&").map {
            let kv = $0.split(separator: "=")
            return (String(kv[0]), String(kv[1]))
        })
        let path = "/attachments/1/2/a.png"
        #expect(links.verify(path: path, ex: query["ex"], is: query["is"], hm: query["hm"], now: now))
        #expect(links.signed(signed, now: now) == signed, "signing again gives the same link the same day")
        #expect(!links.verify(path: "/attachments/1/2/b.png", ex: query["ex"], is: query["is"], hm: query["hm"], now: now))
        #expect(!links.verify(path: path, ex: "ffffffff", is: query["is"], hm: query["hm"], now: now), "a longer life is not signed")
        #expect(!links.verify(path: path, ex: query["ex"], is: query["is"], hm: query["hm"], now: now.addingTimeInterval(15 * 86_400)))
        #expect(!links.verify(path: path, ex: query["ex"], is: query["is"], hm: "zz", now: now))
        let other = AttachmentLinks(tokens: TokenAuthority(secret: Array("another secret entirely".utf8)))
        #expect(!other.verify(path: path, ex: query["ex"], is: query["is"], hm: query["hm"], now: now))
    }

    @Test func reactionsTakeOneEmojiOnly() throws {
        for emoji in ["👍", "❤️", "👨‍👩‍👧", "1️⃣", "🇫🇷", "👋🏽", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "©️"] {
            #expect((try? ReactionEmoji(segment: emoji)) != nil, "\(emoji)")
        }
        for bad in ["", "a", "1", "👍👍", "👍a", "name:123", "\u{0}", "☺", String(repeating: "👍", count: 40)] {
            #expect(throws: APIError.unknownEmoji) { try ReactionEmoji(segment: bad) }
        }
    }
}
