/// A strict RFC 8259 check of a request body before any decoder sees it. Foundation's decoder
/// is lenient (it takes `{"content":"x",}`), recurses once per nesting level (a body of 100,000
/// `[` would exhaust a thread's stack) and lets U+0000 through, which PostgreSQL refuses in text.
/// So bodies are scanned once here, without recursion: bad syntax or nesting deeper than
/// `maximumDepth` is Discord's 50109, and a string holding U+0000 is a form error at its path.
public enum JSONSyntax {
    /// Discord's deepest request bodies (components in action rows, embed fields) nest about 6 deep.
    public static let maximumDepth = 32

    public enum Problem: Error, Equatable, Sendable {
        case invalid
        case nulCharacter(path: [String])
    }

    public static func check(_ bytes: some Collection<UInt8>) throws(Problem) {
        var scanner = Scanner(Array(bytes))
        try scanner.document()
    }

    /// The same check, as the API error a client receives.
    public static func validate(_ bytes: some Collection<UInt8>) throws(APIError) {
        do {
            try check(bytes)
        } catch {
            switch error {
            case .invalid:
                throw APIError.invalidJSON
            case .nulCharacter(let path):
                throw APIError.invalidForm(.single(path, code: "BASE_TYPE_INVALID", message: "Strings may not contain the NUL character (U+0000)."))
            }
        }
    }

    private struct Scanner {
        enum Container { case object(key: String), array(index: Int) }
        let bytes: [UInt8]
        var at = 0
        var stack: [Container] = []

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var path: [String] {
            stack.map { switch $0 { case .object(let key): key; case .array(let index): String(index) } }
        }

        mutating func document() throws(Problem) {
            try value()
            // After each value: a comma and the next member, a closing bracket, or the end.
            while true {
                skipSpace()
                guard let top = stack.last else { break }
                guard at < bytes.count else { throw .invalid }
                let byte = bytes[at]
                at += 1
                switch (top, byte) {
                case (.object, UInt8(ascii: ",")):
                    skipSpace()
                    try key()
                    try value()
                case (.array(let index), UInt8(ascii: ",")):
                    stack[stack.count - 1] = .array(index: index + 1)
                    try value()
                case (.object, UInt8(ascii: "}")), (.array, UInt8(ascii: "]")):
                    stack.removeLast()
                default:
                    throw .invalid
                }
            }
            guard at == bytes.count else { throw .invalid }
        }

        /// One value; a container is opened (its first member read) and left on the stack.
        mutating func value() throws(Problem) {
            skipSpace()
            guard at < bytes.count else { throw .invalid }
            switch bytes[at] {
            case UInt8(ascii: "{"):
                at += 1
                guard stack.count < JSONSyntax.maximumDepth else { throw .invalid }
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return }
                stack.append(.object(key: ""))
                try key()
                try value()
            case UInt8(ascii: "["):
                at += 1
                guard stack.count < JSONSyntax.maximumDepth else { throw .invalid }
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return }
                stack.append(.array(index: 0))
                try value()
            case UInt8(ascii: "\""):
                _ = try string()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            default: try number()
            }
        }

        /// `"key":` of a member of the object on top of the stack, which takes that key.
        mutating func key() throws(Problem) {
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw .invalid }
            let name = try string()
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw .invalid }
            at += 1
            stack[stack.count - 1] = .object(key: name)
        }

        mutating func string() throws(Problem) -> String {
            at += 1
            let start = at
            var hasEscapes = false
            while at < bytes.count {
                let byte = bytes[at]
                switch byte {
                case UInt8(ascii: "\""):
                    let text = hasEscapes ? "" : String(decoding: bytes[start..<at], as: UTF8.self)
                    at += 1
                    return text
                case UInt8(ascii: "\\"):
                    hasEscapes = true
                    at += 1
                    guard at < bytes.count else { throw .invalid }
                    switch bytes[at] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        at += 1
                    case UInt8(ascii: "u"):
                        guard at + 4 < bytes.count else { throw .invalid }
                        var code: UInt32 = 0
                        for digit in bytes[(at + 1)...(at + 4)] {
                            guard let v = hexValue(digit) else { throw .invalid }
                            code = code << 4 | v
                        }
                        if code == 0 { throw .nulCharacter(path: path) }
                        at += 5
                    default:
                        throw .invalid
                    }
                case 0..<0x20:
                    throw .invalid
                default:
                    at += 1
                }
            }
            throw .invalid
        }

        mutating func number() throws(Problem) {
            if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard at < bytes.count, isDigit(bytes[at]) else { throw .invalid }
            if bytes[at] == UInt8(ascii: "0") { at += 1 } else { digits() }
            if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
                at += 1
                guard at < bytes.count, isDigit(bytes[at]) else { throw .invalid }
                digits()
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
                at += 1
                if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
                guard at < bytes.count, isDigit(bytes[at]) else { throw .invalid }
                digits()
            }
        }

        mutating func literal(_ word: String) throws(Problem) {
            let expected = Array(word.utf8)
            guard at + expected.count <= bytes.count, bytes[at..<(at + expected.count)].elementsEqual(expected) else { throw .invalid }
            at += expected.count
        }

        mutating func digits() { while at < bytes.count, isDigit(bytes[at]) { at += 1 } }

        mutating func skipSpace() {
            while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 }
        }

        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

        func hexValue(_ b: UInt8) -> UInt32? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(b - UInt8(ascii: "A") + 10)
            default: nil
            }
        }
    }
}
