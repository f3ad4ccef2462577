import Foundation
import Synchronization

/// A Discord-compatible 64-bit id.
///
/// Bit layout (most significant first), compatible with Discord's:
///
///     63 ........ 22 | 21 .. 16 | 15 .. 12 | 11 ....... 0
///     milliseconds    | cell id  | process  | increment
///     since 2015-01-01| (6 bits) | (4 bits) | (12 bits)
///
/// Discord's 10 "worker" bits are split here into the cell that minted the id (0–63) and the
/// process within that cell (0–15), so any edge can route an id to its home cell with no lookup.
public struct Snowflake: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    /// Discord's epoch, 2015-01-01T00:00:00Z, in Unix milliseconds.
    public static let discordEpochMilliseconds: UInt64 = 1_420_070_400_000
    public static let maxCellID = 63
    public static let maxProcessID = 15
    /// Discord buckets channel history in 10-day windows; messages are partitioned by this bucket.
    public static let bucketMilliseconds: UInt64 = 10 * 24 * 60 * 60 * 1000

    public init(milliseconds: UInt64, cell: Int, process: Int, increment: Int) {
        precondition((0...Self.maxCellID).contains(cell), "cell id out of range")
        precondition((0...Self.maxProcessID).contains(process), "process id out of range")
        let since = milliseconds - Self.discordEpochMilliseconds
        rawValue = since << 22 | UInt64(cell) << 16 | UInt64(process) << 12 | UInt64(increment & 0xFFF)
    }

    /// Milliseconds since Discord's epoch.
    public var epochMilliseconds: UInt64 { rawValue >> 22 }
    public var unixMilliseconds: UInt64 { epochMilliseconds + Self.discordEpochMilliseconds }
    public var date: Date { Date(timeIntervalSince1970: Double(unixMilliseconds) / 1000) }
    public var cell: Int { Int((rawValue >> 16) & 0x3F) }
    public var process: Int { Int((rawValue >> 12) & 0xF) }
    public var increment: Int { Int(rawValue & 0xFFF) }
    /// The 10-day history bucket this id falls in.
    public var bucket: Int { Int(epochMilliseconds / Self.bucketMilliseconds) }

    /// The smallest id whose time is `date`: used to turn a time into a pagination bound.
    public static func lowerBound(at unixMilliseconds: UInt64) -> Snowflake {
        let since = unixMilliseconds > discordEpochMilliseconds ? unixMilliseconds - discordEpochMilliseconds : 0
        return Snowflake(Swift.min(since, max.rawValue >> 22) << 22)
    }
    public static func firstID(ofBucket bucket: Int) -> Snowflake {
        Snowflake(UInt64(bucket) * bucketMilliseconds << 22)
    }

    /// The value PostgreSQL stores (bigint); ids fit in 63 bits until the year 2084.
    public var int64: Int64 { Int64(bitPattern: rawValue) }
    public init(int64: Int64) { rawValue = UInt64(bitPattern: int64) }

    public var description: String { String(rawValue) }
    /// Ids are stored as PostgreSQL bigints: a value above 2^63−1 (or negative, or not a
    /// number) is no id, so arithmetic on a parsed id (around+1, a bucket) cannot overflow.
    public init?(_ string: some StringProtocol) {
        guard let value = UInt64(string), value <= Self.max.rawValue else { return nil }
        rawValue = value
    }
    /// The largest id a client may name.
    public static let max = Snowflake(UInt64(Int64.max))
    public static func < (a: Snowflake, b: Snowflake) -> Bool { a.rawValue < b.rawValue }
}

extension Snowflake: Codable {
    /// Snowflakes go out as strings; they come in as strings or as JSON numbers, which may be
    /// above 2^53, so they are decoded as 64-bit integers and never through a Double.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            guard let id = Snowflake(string) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "Value \"\(string)\" is not snowflake.")
            }
            self = id
        } else {
            let value = try container.decode(UInt64.self)
            guard value <= Self.max.rawValue else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "Value \"\(value)\" is not snowflake.")
            }
            rawValue = value
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Mints unique snowflakes for one process of one cell.
public final class SnowflakeGenerator: Sendable {
    private struct State { var lastMilliseconds: UInt64 = 0; var increment = 0 }
    private let state = Mutex(State())
    public let cell: Int
    public let process: Int

    public init(cell: Int, process: Int = 0) {
        precondition((0...Snowflake.maxCellID).contains(cell) && (0...Snowflake.maxProcessID).contains(process))
        self.cell = cell
        self.process = process
    }

    public func next(now: Date = Date()) -> Snowflake {
        let wall = UInt64(now.timeIntervalSince1970 * 1000)
        let (ms, increment) = state.withLock { s -> (UInt64, Int) in
            // Never go backwards (clock steps) and never reuse an increment within a millisecond.
            var ms = max(wall, s.lastMilliseconds)
            if ms == s.lastMilliseconds {
                s.increment += 1
                if s.increment > 0xFFF { ms += 1; s.increment = 0 }
            } else {
                s.increment = 0
            }
            s.lastMilliseconds = ms
            return (ms, s.increment)
        }
        return Snowflake(milliseconds: ms, cell: cell, process: process, increment: increment)
    }
}
