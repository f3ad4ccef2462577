import Foundation

/// Reads JSON text value by value, for hand-written decoders of the cluster's own hot payloads
/// (a READY batch, decoded by Foundation's decoder, was a twelfth of an edge's CPU for an
/// IDENTIFY). Strict: text that is not JSON (RFC 8259), and anything but what a reader asks for
/// (a float where an integer is read, a number for an id, a key twice, bytes that are not UTF-8),
/// throws `Unexpected`, and its caller hands the whole text to the decoder instead, which stays
/// the reference.
public struct JSONReader {
    public struct Unexpected: Error {}

    private let bytes: [UInt8]
    public private(set) var at: Int

    /// A reader of `bytes` from `start`.
    public init(_ bytes: [UInt8], at start: Int = 0) {
        self.bytes = bytes
        at = start
    }

    /// Whether only space is left.
    public mutating func atEnd() -> Bool {
        skipSpace()
        return at == bytes.count
    }

    /// Reads `null` if it is next.
    public mutating func null() -> Bool {
        skipSpace()
        guard bytes.count - at >= 4, bytes[at] == UInt8(ascii: "n"), bytes[at + 1] == UInt8(ascii: "u"),
              bytes[at + 2] == UInt8(ascii: "l"), bytes[at + 3] == UInt8(ascii: "l") else { return false }
        at += 4
        return true
    }

    public mutating func bool() throws -> Bool {
        skipSpace()
        if bytes[at...].starts(with: "true".utf8) { at += 4; return true }
        if bytes[at...].starts(with: "false".utf8) { at += 5; return false }
        throw Unexpected()
    }

    /// An integer written without fraction or exponent.
    public mutating func int() throws -> Int {
        skipSpace()
        let start = at
        guard try number(), let value = Int(String(decoding: bytes[start..<at], as: UTF8.self)) else { throw Unexpected() }
        return value
    }

    /// Reads a number by JSON's grammar; answers whether it is an integer (no fraction, no exponent).
    private mutating func number() throws -> Bool {
        func digits() throws {
            let start = at
            while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) { at += 1 }
            guard at > start else { throw Unexpected() }
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
        if at < bytes.count, bytes[at] == UInt8(ascii: "0") { at += 1 } else { try digits() }
        var integer = true
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            at += 1
            try digits()
            integer = false
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            try digits()
            integer = false
        }
        return integer
    }

    public mutating func optionalString() throws -> String? {
        null() ? nil : try string()
    }

    public mutating func string() throws -> String {
        skipSpace()
        try expect(UInt8(ascii: "\""))
        let start = at
        while at < bytes.count, bytes[at] != UInt8(ascii: "\""), bytes[at] != UInt8(ascii: "\\"), bytes[at] >= 0x20 { at += 1 }
        guard at < bytes.count else { throw Unexpected() }
        if bytes[at] == UInt8(ascii: "\"") {
            defer { at += 1 }
            guard let text = String(validating: bytes[start..<at], as: UTF8.self) else { throw Unexpected() }
            return text
        }
        at = start
        return try escapedString()
    }

    /// Ids are written as strings of digits.
    public mutating func snowflake() throws -> Snowflake {
        guard let id = Snowflake(try string()) else { throw Unexpected() }
        return id
    }

    /// Calls `member` with each key in turn, the reader at its value, which `member` reads. A key
    /// met twice throws: which of the two the decoder takes is its own affair.
    public mutating func object(_ member: (inout JSONReader, String) throws -> Void) throws {
        skipSpace()
        try expect(UInt8(ascii: "{"))
        skipSpace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return }
        var keys: [String] = []
        while true {
            let key = try string()
            guard !keys.contains(key) else { throw Unexpected() }
            keys.append(key)
            skipSpace()
            try expect(UInt8(ascii: ":"))
            try member(&self, key)
            skipSpace()
            guard at < bytes.count else { throw Unexpected() }
            if bytes[at] == UInt8(ascii: "}") { at += 1; return }
            try expect(UInt8(ascii: ","))
        }
    }

    public mutating func array<T>(_ element: (inout JSONReader) throws -> T) throws -> [T] {
        skipSpace()
        try expect(UInt8(ascii: "["))
        skipSpace()
        var values: [T] = []
        if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return values }
        while true {
            values.append(try element(&self))
            skipSpace()
            guard at < bytes.count else { throw Unexpected() }
            if bytes[at] == UInt8(ascii: "]") { at += 1; return values }
            try expect(UInt8(ascii: ","))
        }
    }

    /// The next value, skipped whole (checked all the same); its text.
    public mutating func skipValue(depth: Int = 0) throws -> ArraySlice<UInt8> {
        skipSpace()
        let start = at
        guard at < bytes.count, depth < Self.maximumDepth else { throw Unexpected() }
        switch bytes[at] {
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "{"): try object { reader, _ in _ = try reader.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["): _ = try array { try $0.skipValue(depth: depth + 1) }
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try bool()
        case UInt8(ascii: "n"): guard null() else { throw Unexpected() }
        default: _ = try number()
        }
        return bytes[start..<at]
    }

    /// Deeper than this, a skipped value is left to the decoder (no recursion without bound).
    static let maximumDepth = 64

    /// The next value, read by the decoder unless it is an empty array (the parts of a hot
    /// payload that are rare, or rarely not empty).
    public mutating func decoded<T: Decodable>(_ type: [T].Type) throws -> [T] {
        let text = try skipValue()
        if text.elementsEqual("[]".utf8) { return [] }
        return try WireJSON.decode(type, from: Data(text))
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard at < bytes.count, bytes[at] == byte else { throw Unexpected() }
        at += 1
    }

    private mutating func skipSpace() {
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
    }

    private mutating func escapedString() throws -> String {
        var utf8: [UInt8] = []
        while true {
            guard at < bytes.count else { throw Unexpected() }
            let byte = bytes[at]
            at += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else { throw Unexpected() }
                return text
            case 0..<0x20: throw Unexpected()
            case UInt8(ascii: "\\"):
                guard at < bytes.count else { throw Unexpected() }
                let escape = bytes[at]
                at += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard bytes[at...].starts(with: "\\u".utf8) else { throw Unexpected() }
                        at += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw Unexpected() }
                        scalar = 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw Unexpected() }
                    utf8.append(contentsOf: String(Character(unicode)).utf8)
                default: throw Unexpected()
                }
            default: utf8.append(byte)
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard bytes.count - at >= 4, bytes[at..<(at + 4)].allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }),
              let value = UInt32(String(decoding: bytes[at..<(at + 4)], as: UTF8.self), radix: 16) else { throw Unexpected() }
        at += 4
        return value
    }
}
