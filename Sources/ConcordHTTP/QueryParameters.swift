import ConcordModels
import Foundation
import Hummingbird

/// Typed reads of query parameters, failing with Discord's form errors.
public struct QueryParameters: Sendable {
    let values: [String: String]

    public init(_ request: Request) {
        var values: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { values[String(key)] = String(value) }
        self.values = values
    }

    public func string(_ name: String) -> String? { values[name] }

    public func snowflake(_ name: String) throws -> Snowflake? {
        guard let raw = values[name] else { return nil }
        guard let id = Snowflake(raw) else {
            throw APIError.invalidForm(.single([name], code: "NUMBER_TYPE_COERCE", message: "Value \"\(raw)\" is not snowflake."))
        }
        return id
    }

    public func int(_ name: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let raw = values[name] else { return value }
        guard let number = Int(raw) else {
            throw APIError.invalidForm(.single([name], code: "NUMBER_TYPE_COERCE", message: "Value \"\(raw)\" is not int."))
        }
        guard range.contains(number) else {
            throw APIError.invalidForm(.single([name], code: "NUMBER_TYPE_MAX", message: "int value should be between \(range.lowerBound) and \(range.upperBound)."))
        }
        return number
    }

    /// An ISO 8601 time in UTC; a `+00:00` whose plus arrived as a space (unencoded in the
    /// query) is read as meant.
    public func date(_ name: String) throws -> Date? {
        guard let raw = values[name] else { return nil }
        guard let date = DiscordTimestamp.date(from: raw) ?? DiscordTimestamp.date(from: raw.replacingOccurrences(of: " ", with: "+")) else {
            throw APIError.invalidForm(.single([name], code: "DATE_TIME_TYPE_PARSE", message: "Could not parse \(raw). Should be ISO8601."))
        }
        return date
    }

    public func bool(_ name: String) -> Bool {
        guard let raw = values[name]?.lowercased() else { return false }
        return raw == "true" || raw == "1"
    }
}
