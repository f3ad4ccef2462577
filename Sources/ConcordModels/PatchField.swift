/// A field of a PATCH body: absent (leave as is), explicitly null (clear), or a new value.
public enum PatchField<Value: Sendable & Equatable>: Sendable, Equatable {
    case absent
    case null
    case value(Value)

    public var isAbsent: Bool { if case .absent = self { return true }; return false }
    public func resolved(current: Value?) -> Value? {
        switch self {
        case .absent: current
        case .null: nil
        case .value(let v): v
        }
    }
}

extension KeyedEncodingContainer {
    /// Writes a PATCH field back as it came: left out when absent, null, or the value.
    public mutating func encodePatch<T: Encodable & Sendable & Equatable>(_ field: PatchField<T>, forKey key: Key) throws {
        switch field {
        case .absent: break
        case .null: try encodeNil(forKey: key)
        case .value(let value): try encode(value, forKey: key)
        }
    }
}

extension KeyedDecodingContainer {
    public func decodePatch<T: Decodable & Sendable & Equatable>(_ type: T.Type, forKey key: Key) throws -> PatchField<T> {
        guard contains(key) else { return .absent }
        if try decodeNil(forKey: key) { return .null }
        return .value(try decode(T.self, forKey: key))
    }
}
