/// Splits a SQL file into statements at top-level semicolons, skipping those inside quotes,
/// dollar-quoted bodies and comments (PostgreSQL's extended protocol runs one statement at a time).
enum SQLScript {
    static func statements(in script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        let chars = Array(script)
        var i = 0
        func peek(_ offset: Int) -> Character? { i + offset < chars.count ? chars[i + offset] : nil }
        while i < chars.count {
            let c = chars[i]
            if c == "-" && peek(1) == "-" {
                while i < chars.count && chars[i] != "\n" { i += 1 }
                continue
            }
            if c == "'" || c == "\"" {
                current.append(c); i += 1
                while i < chars.count {
                    current.append(chars[i])
                    if chars[i] == c { i += 1; break }
                    i += 1
                }
                continue
            }
            if c == "$", let close = chars[(i + 1)...].firstIndex(of: "$"),
               chars[(i + 1)..<close].allSatisfy({ $0.isLetter || $0 == "_" }) {
                let tag = String(chars[i...close])
                current += tag; i = close + 1
                while i < chars.count {
                    if chars[i] == "$" && String(chars[i..<min(i + tag.count, chars.count)]) == tag {
                        current += tag; i += tag.count; break
                    }
                    current.append(chars[i]); i += 1
                }
                continue
            }
            if c == ";" {
                let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !trimmed.isEmpty { statements.append(trimmed) }
                current = ""; i += 1
                continue
            }
            current.append(c); i += 1
        }
        let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty { statements.append(trimmed) }
        return statements
    }
}

import Foundation
