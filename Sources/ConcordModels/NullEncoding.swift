/// Discord sends nullable scalar fields as `null` rather than leaving them out, and clients
/// index them directly (discord.py reads `data['avatar']`). These overloads make the
/// synthesized `Encodable` conformances in this module write `null` for nil strings, numbers,
/// booleans and snowflakes. Nested objects (a message's `member`, `message_reference`, …)
/// still go through the standard library's generic overload and are left out when nil, as
/// Discord leaves them out.
extension KeyedEncodingContainer {
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: Snowflake?, forKey key: Key) throws { try encode(value, forKey: key) }
}

/// The opposite, for objects Discord leaves sparse (an embed and its parts): an unset field is
/// left out, not sent as `null`, as the spec types it (`"color": integer`, never null).
@propertyWrapper
public struct OmittedWhenNil<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var wrappedValue: Value?
    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }
    public init(from decoder: any Decoder) throws { wrappedValue = try decoder.singleValueContainer().decode(Value?.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}

extension KeyedEncodingContainer {
    mutating func encode<T>(_ value: OmittedWhenNil<T>, forKey key: Key) throws {
        if let value = value.wrappedValue { try encode(value, forKey: key) }
    }
}

extension KeyedDecodingContainer {
    func decode<T>(_ type: OmittedWhenNil<T>.Type, forKey key: Key) throws -> OmittedWhenNil<T> {
        OmittedWhenNil(wrappedValue: try decodeIfPresent(T.self, forKey: key))
    }
}
