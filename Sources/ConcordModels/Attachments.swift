import Foundation

/// An attachment as messages carry it. Stored with its `url` unsigned (the uploading edge's
/// CDN path); each rendering adds Discord's `ex`/`is`/`hm` parameters (AttachmentLinks).
public struct Attachment: Codable, Sendable, Equatable {
    public var id: Snowflake
    public var filename: String
    @OmittedWhenNil public var description: String?
    @OmittedWhenNil public var content_type: String?
    public var size: Int
    public var url: String
    public var proxy_url: String
    @OmittedWhenNil public var width: Int?
    @OmittedWhenNil public var height: Int?

    public init(id: Snowflake, filename: String, description: String?, contentType: String?, size: Int, url: String,
                width: Int?, height: Int?) {
        self.id = id
        self.filename = filename
        self.description = description
        content_type = contentType
        self.size = size
        self.url = url
        proxy_url = url
        self.width = width
        self.height = height
    }

    /// As stored: the URLs without their signature.
    public var unsigned: Attachment {
        var a = self
        a.url = String(url.prefix { $0 != "?" })
        a.proxy_url = a.url
        return a
    }

    /// Discord's CDN path of an attachment, under any edge.
    public static func path(channel: Snowflake, attachment: Snowflake, filename: String) -> String {
        "/attachments/\(channel)/\(attachment)/\(filename)"
    }

    /// What a user's file name becomes in a URL and in `filename`, as Discord does: characters
    /// outside letters, digits, '.', '-' and '_' become '_'; at most 100 of them; never empty
    /// or only dots.
    public static func safeFilename(_ name: String) -> String {
        let kept = String(name.unicodeScalars.prefix(Limits.filenameLength).map { scalar -> Character in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "._-".unicodeScalars.contains(scalar)) ? Character(scalar) : "_"
        })
        return kept.allSatisfy({ $0 == "." }) ? "unknown" : kept
    }
}

/// A file as a message request brings it (a `files[n]` part).
public struct Upload: Sendable {
    public var filename: String
    public var contentType: String?
    public var data: Data
    public init(filename: String, contentType: String?, data: Data) {
        self.filename = filename
        self.contentType = contentType
        self.data = data
    }
}

/// An entry of a message request's `attachments`: a new upload (`id` is the index of its
/// `files[n]` part) or, when editing, an attachment the message keeps (its snowflake).
public struct AttachmentRequest: Codable, Sendable, Equatable {
    public var id: JSONValue?
    public var filename: String?
    public var description: String?

    public init(id: JSONValue?, filename: String? = nil, description: String? = nil) {
        self.id = id
        self.filename = filename
        self.description = description
    }

    /// The id as a number, whether sent as one or as its digits.
    public var number: UInt64? {
        switch id {
        case .int(let i)?: i >= 0 ? UInt64(i) : nil
        case .string(let s)?: UInt64(s)
        default: nil
        }
    }
}

/// What an uploaded file's first bytes say it is. Images get their pixel size from their
/// headers (no decoding); the content type a browser will see is one that cannot run in
/// Concord's origin: HTML, SVG, XML and anything unknown are served as bytes to download.
public enum UploadKind {
    /// Types served as themselves; the rest as application/octet-stream.
    static let inline: Set<String> = ["image/png", "image/jpeg", "image/gif", "image/webp", "video/mp4", "video/webm",
                                      "audio/mpeg", "audio/ogg", "audio/wav", "text/plain", "application/pdf", "application/json"]

    /// The content type to store and serve: the sniffed image type when the bytes are one,
    /// else the declared type if it is one that cannot run, else application/octet-stream.
    public static func contentType(declared: String?, bytes: Data) -> String {
        if let image = imageType(bytes) { return image }
        let type = declared?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        if type.hasPrefix("image/") { return "application/octet-stream" } // claims to be an image, is not one
        if type == "text/plain" { return "text/plain; charset=utf-8" }
        return inline.contains(type) ? type : "application/octet-stream"
    }

    public static func isInline(_ contentType: String) -> Bool {
        inline.contains(contentType.split(separator: ";").first.map(String.init) ?? contentType)
    }

    static func imageType(_ b: Data) -> String? {
        let bytes = [UInt8](b.prefix(16))
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if bytes.starts(with: Array("GIF87a".utf8)) || bytes.starts(with: Array("GIF89a".utf8)) { return "image/gif" }
        if bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) { return "image/webp" }
        return nil
    }

    /// Width and height from an image's header: PNG's IHDR, GIF's screen descriptor, JPEG's
    /// first start-of-frame marker, WebP's VP8, VP8L or VP8X chunk. Nil when not an image (or
    /// its header is cut short).
    public static func dimensions(_ data: Data) -> (width: Int, height: Int)? {
        let b = [UInt8](data.prefix(64 * 1024))
        func be16(_ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
        func le16(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
        func be32(_ i: Int) -> Int { be16(i) << 16 | be16(i + 2) }
        switch imageType(data) {
        case "image/png":
            guard b.count >= 24 else { return nil }
            return (be32(16), be32(20))
        case "image/gif":
            guard b.count >= 10 else { return nil }
            return (le16(6), le16(8))
        case "image/jpeg":
            var i = 2
            while i + 9 < b.count {
                guard b[i] == 0xFF else { return nil }
                let marker = b[i + 1]
                if marker == 0xFF { i += 1; continue }
                // Start-of-frame markers (not DHT 0xC4, JPG 0xC8, DAC 0xCC): height, then width.
                if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) { return (be16(i + 7), be16(i + 5)) }
                i += 2 + be16(i + 2)
            }
            return nil
        case "image/webp":
            guard b.count >= 30 else { return nil }
            switch String(decoding: b[12..<16], as: UTF8.self) {
            case "VP8 ": return (le16(26) & 0x3FFF, le16(28) & 0x3FFF)
            case "VP8L":
                let bits = Int(b[21]) | Int(b[22]) << 8 | Int(b[23]) << 16 | Int(b[24]) << 24
                return ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
            case "VP8X":
                return ((Int(b[24]) | Int(b[25]) << 8 | Int(b[26]) << 16) + 1, (Int(b[27]) | Int(b[28]) << 8 | Int(b[29]) << 16) + 1)
            default: return nil
            }
        default:
            return nil
        }
    }
}
