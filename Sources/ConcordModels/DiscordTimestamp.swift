import Foundation

/// Discord's ISO 8601 timestamps: `2024-01-01T00:00:00.000000+00:00` (microseconds, explicit offset).
public enum DiscordTimestamp {
    public static func string(from date: Date) -> String {
        let totalMicros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
        var seconds = totalMicros / 1_000_000
        var micros = totalMicros % 1_000_000
        if micros < 0 { micros += 1_000_000; seconds -= 1 }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 { secondOfDay += 86_400; days -= 1 }
        let (y, m, d) = civilFromDays(days)
        // Digits written by hand: String(format:) goes through CoreFoundation's formatter, a
        // visible share of the cell's CPU when every message sent is rendered with its time.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        // As "%0*d" writes it: zero-padded to `width` (a sign included), never cut short.
        func put(_ value: Int64, width: Int) {
            let digits = String(value.magnitude).utf8
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            let padding = width - digits.count - (value < 0 ? 1 : 0)
            if padding > 0 { bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: padding)) }
            bytes.append(contentsOf: digits)
        }
        put(y, width: 4); bytes.append(UInt8(ascii: "-")); put(m, width: 2); bytes.append(UInt8(ascii: "-")); put(d, width: 2)
        bytes.append(UInt8(ascii: "T")); put(secondOfDay / 3600, width: 2); bytes.append(UInt8(ascii: ":"))
        put(secondOfDay / 60 % 60, width: 2); bytes.append(UInt8(ascii: ":")); put(secondOfDay % 60, width: 2)
        bytes.append(UInt8(ascii: ".")); put(micros, width: 6)
        bytes.append(contentsOf: "+00:00".utf8)
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func string(from id: Snowflake) -> String { string(from: id.date) }

    /// Reads an ISO 8601 time in UTC as clients send it: what `string(from:)` writes, or with
    /// `Z`, any number of fraction digits or none (a browser's `toISOString()`); nil for
    /// anything else, other offsets included.
    public static func date(from text: String) -> Date? {
        let body: Substring
        if text.hasSuffix("+00:00") { body = text.dropLast(6) } else if text.hasSuffix("Z") { body = text.dropLast() } else { return nil }
        let (clock, fraction) = body.firstIndex(of: ".").map { (body[..<$0], body[body.index(after: $0)...]) } ?? (body, "")
        let parts = clock.split(separator: "T")
        guard parts.count == 2, fraction.count <= 9, fraction.allSatisfy(\.isASCII), fraction.allSatisfy(\.isNumber) else { return nil }
        let day = parts[0].split(separator: "-", omittingEmptySubsequences: false).map { Int64($0) }
        let time = parts[1].split(separator: ":", omittingEmptySubsequences: false).map { Int64($0) }
        guard day.count == 3, time.count == 3, let y = day[0], let mo = day[1], let d = day[2], let h = time[0], let mi = time[1], let s = time[2],
              (1...9999).contains(y), (1...12).contains(mo), (1...31).contains(d), (0...23).contains(h), (0...59).contains(mi), (0...60).contains(s)
        else { return nil }
        let seconds = daysFromCivil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s
        let nanos = fraction.isEmpty ? 0 : (Int64(fraction) ?? 0) * Int64(pow(10, Double(9 - fraction.count)))
        return Date(timeIntervalSince1970: Double(seconds) + Double(nanos / 1000) / 1_000_000)
    }

    /// The inverse of civilFromDays (Howard Hinnant's days-from-civil).
    private static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Howard Hinnant's days-to-civil algorithm: no Calendar or locale involved.
    private static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
