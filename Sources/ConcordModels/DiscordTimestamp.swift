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
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00",
                      Int(y), Int(m), Int(d),
                      Int(secondOfDay / 3600), Int(secondOfDay / 60 % 60), Int(secondOfDay % 60), Int(micros))
    }

    public static func string(from id: Snowflake) -> String { string(from: id.date) }

    /// Reads back what `string(from:)` writes (UTC, microseconds); nil for anything else.
    public static func date(from text: String) -> Date? {
        let parts = text.split(whereSeparator: { "-T:.+".contains($0) }).map { Int64($0) }
        guard parts.count == 9, text.hasSuffix("+00:00"), let y = parts[0], let mo = parts[1], let d = parts[2], let h = parts[3],
              let mi = parts[4], let s = parts[5], let micros = parts[6] else { return nil }
        let seconds = daysFromCivil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
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
