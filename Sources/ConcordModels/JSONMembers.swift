/// Where the members of a JSON object and the elements of a JSON array lie in its text, without
/// decoding them: for carrying a value on byte for byte (an outbox payload inside a relayed page)
/// or changing one member of an object and keeping the rest as written. Meant for text already
/// known to be valid JSON (checked by `JSONSyntax` or produced here); anything unexpected answers
/// nil, never a wrong range. Keys are compared as written (no escapes are undone).
public enum JSONMembers {
    public struct Member: Sendable, Equatable {
        /// The key's text between its quotes.
        public var key: Range<Int>
        public var value: Range<Int>
    }

    /// The members of the object that `range` of `bytes` holds, in order.
    public static func object(_ bytes: [UInt8], _ range: Range<Int>) -> [Member]? {
        var members: [Member] = []
        let complete = items(bytes, range, open: UInt8(ascii: "{"), close: UInt8(ascii: "}")) { at in
            guard bytes[at] == UInt8(ascii: "\""), let keyEnd = stringEnd(bytes, at, range.upperBound) else { return nil }
            let colon = skipSpace(bytes, keyEnd, range.upperBound)
            guard colon < range.upperBound, bytes[colon] == UInt8(ascii: ":") else { return nil }
            let start = skipSpace(bytes, colon + 1, range.upperBound)
            guard let end = valueEnd(bytes, start, range.upperBound) else { return nil }
            members.append(Member(key: (at + 1)..<(keyEnd - 1), value: start..<end))
            return end
        }
        return complete ? members : nil
    }

    /// The elements of the array that `bytes` holds, in order.
    public static func array(_ bytes: [UInt8]) -> [Range<Int>]? {
        var elements: [Range<Int>] = []
        let complete = items(bytes, 0..<bytes.count, open: UInt8(ascii: "["), close: UInt8(ascii: "]")) { at in
            guard let end = valueEnd(bytes, at, bytes.count) else { return nil }
            elements.append(at..<end)
            return end
        }
        return complete ? elements : nil
    }

    /// Walks a container that fills `range`: `item` reads the item starting at its argument and
    /// answers where it ends. Answers whether the container was well formed to its end.
    private static func items(_ bytes: [UInt8], _ range: Range<Int>, open: UInt8, close: UInt8, _ item: (Int) -> Int?) -> Bool {
        var at = skipSpace(bytes, range.lowerBound, range.upperBound)
        guard at < range.upperBound, bytes[at] == open else { return false }
        at = skipSpace(bytes, at + 1, range.upperBound)
        if at < range.upperBound, bytes[at] == close { return skipSpace(bytes, at + 1, range.upperBound) == range.upperBound }
        while at < range.upperBound {
            guard let end = item(at) else { return false }
            at = skipSpace(bytes, end, range.upperBound)
            guard at < range.upperBound else { return false }
            if bytes[at] == close { return skipSpace(bytes, at + 1, range.upperBound) == range.upperBound }
            guard bytes[at] == UInt8(ascii: ",") else { return false }
            at = skipSpace(bytes, at + 1, range.upperBound)
        }
        return false
    }

    /// Whether a member's key is `name` as written.
    public static func key(_ member: Member, in bytes: [UInt8], is name: StaticString) -> Bool {
        guard member.key.count == name.utf8CodeUnitCount else { return false }
        return name.withUTF8Buffer { name in zip(bytes[member.key], name).allSatisfy { $0 == $1 } }
    }

    /// The object's text with members named in `replacing` given new values (raw JSON text; a
    /// member not there is added at the end) and those named in `removing` left out; every
    /// other member is kept as written. Nil if `text` is not a JSON object.
    public static func editing(_ text: String, replacing: [String: String], removing: Set<String> = []) -> String? {
        let bytes = Array(text.utf8)
        guard let members = object(bytes, 0..<bytes.count) else { return nil }
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(bytes.count + 64)
        var replaced: Set<String> = []
        func append(key: some Collection<UInt8>, value: some Collection<UInt8>) {
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: key)
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
            out.append(contentsOf: value)
        }
        for member in members {
            let key = String(decoding: bytes[member.key], as: UTF8.self)
            if removing.contains(key) { continue }
            if let value = replacing[key] {
                guard replaced.insert(key).inserted else { continue }
                append(key: bytes[member.key], value: value.utf8)
            } else {
                append(key: bytes[member.key], value: bytes[member.value])
            }
        }
        for (key, value) in replacing.sorted(by: { $0.key < $1.key }) where !replaced.contains(key) {
            append(key: key.utf8, value: value.utf8)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    private static func skipSpace(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Int {
        var at = start
        while at < end, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
        return at
    }

    /// Just past the string starting at `start` (its opening quote).
    private static func stringEnd(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Int? {
        var at = start + 1
        while at < end {
            switch bytes[at] {
            case UInt8(ascii: "\\"): at += 2
            case UInt8(ascii: "\""): return at + 1
            default: at += 1
            }
        }
        return nil
    }

    /// Just past the value starting at `start`: containers are skipped whole, strings and all.
    private static func valueEnd(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Int? {
        guard start < end else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return stringEnd(bytes, start, end)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var at = start
            while at < end {
                switch bytes[at] {
                case UInt8(ascii: "\""):
                    guard let next = stringEnd(bytes, at, end) else { return nil }
                    at = next
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return at + 1 }
                default:
                    break
                }
                at += 1
            }
            return nil
        default:
            // A number, true, false or null: up to the next delimiter.
            var at = start
            while at < end, !",}] \n\r\t".utf8.contains(bytes[at]) { at += 1 }
            return at > start ? at : nil
        }
    }
}
