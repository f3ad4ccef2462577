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
