/// Discord's embed object. Fields Concord does not interpret are dropped, as Discord does.
public struct Embed: Codable, Sendable, Equatable {
    public struct Footer: Codable, Sendable, Equatable { public var text: String; public var icon_url: String? }
    public struct Media: Codable, Sendable, Equatable {
        public var url: String
        public var height: Int?
        public var width: Int?
        public init(url: String, height: Int? = nil, width: Int? = nil) { self.url = url; self.height = height; self.width = width }
    }
    public struct Provider: Codable, Sendable, Equatable { public var name: String?; public var url: String? }
    public struct Author: Codable, Sendable, Equatable { public var name: String; public var url: String?; public var icon_url: String? }
    public struct Field: Codable, Sendable, Equatable {
        public var name: String
        public var value: String
        public var inline: Bool?
        public init(name: String, value: String, inline: Bool? = nil) { self.name = name; self.value = value; self.inline = inline }
    }

    public var title: String?
    public var type: String?
    public var description: String?
    public var url: String?
    public var timestamp: String?
    public var color: Int?
    public var footer: Footer?
    public var image: Media?
    public var thumbnail: Media?
    public var video: Media?
    public var provider: Provider?
    public var author: Author?
    public var fields: [Field]?

    public init(title: String? = nil, description: String? = nil, fields: [Field]? = nil) {
        self.title = title
        self.description = description
        self.fields = fields
    }
}
