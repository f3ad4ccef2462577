/// Discord's embed object. Fields Concord does not interpret are dropped, as Discord does; unset
/// ones are left out of answers.
public struct Embed: Codable, Sendable, Equatable {
    public struct Footer: Codable, Sendable, Equatable { public var text: String; @OmittedWhenNil public var icon_url: String? }
    public struct Media: Codable, Sendable, Equatable {
        public var url: String
        @OmittedWhenNil public var height: Int?
        @OmittedWhenNil public var width: Int?
        public init(url: String, height: Int? = nil, width: Int? = nil) { self.url = url; self.height = height; self.width = width }
    }
    public struct Provider: Codable, Sendable, Equatable { @OmittedWhenNil public var name: String?; @OmittedWhenNil public var url: String? }
    public struct Author: Codable, Sendable, Equatable { public var name: String; @OmittedWhenNil public var url: String?; @OmittedWhenNil public var icon_url: String? }
    public struct Field: Codable, Sendable, Equatable {
        public var name: String
        public var value: String
        @OmittedWhenNil public var inline: Bool?
        public init(name: String, value: String, inline: Bool? = nil) { self.name = name; self.value = value; self.inline = inline }
    }

    @OmittedWhenNil public var title: String?
    @OmittedWhenNil public var type: String?
    @OmittedWhenNil public var description: String?
    @OmittedWhenNil public var url: String?
    @OmittedWhenNil public var timestamp: String?
    @OmittedWhenNil public var color: Int?
    @OmittedWhenNil public var footer: Footer?
    @OmittedWhenNil public var image: Media?
    @OmittedWhenNil public var thumbnail: Media?
    @OmittedWhenNil public var video: Media?
    @OmittedWhenNil public var provider: Provider?
    @OmittedWhenNil public var author: Author?
    @OmittedWhenNil public var fields: [Field]?

    public init(title: String? = nil, description: String? = nil, fields: [Field]? = nil) {
        self.title = title
        self.description = description
        self.fields = fields
    }
}
