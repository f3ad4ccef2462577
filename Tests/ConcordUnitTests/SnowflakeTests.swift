import ConcordModels
import Foundation
import Testing

@Suite("Snowflakes and timestamps")
struct SnowflakeTests {
    @Test func layoutCarriesTimeCellAndProcess() {
        let ms: UInt64 = 1_700_000_000_123
        let id = Snowflake(milliseconds: ms, cell: 37, process: 9, increment: 4000)
        #expect(id.unixMilliseconds == ms)
        #expect(id.cell == 37)
        #expect(id.process == 9)
        #expect(id.increment == 4000)
        #expect(id.bucket == Int((ms - Snowflake.discordEpochMilliseconds) / Snowflake.bucketMilliseconds))
        // A real Discord id decodes to its documented time (2016-04-30 11:18:25.796 UTC).
        #expect(Snowflake(175928847299117063).unixMilliseconds == 1_462_015_105_796)
    }

    @Test func generatorIsUniqueAndIncreasing() {
        let gen = SnowflakeGenerator(cell: 5, process: 1)
        let now = Date()
        let ids = (0..<10_000).map { _ in gen.next(now: now) }
        #expect(Set(ids).count == ids.count)
        #expect(ids == ids.sorted())
        #expect(ids.allSatisfy { $0.cell == 5 && $0.process == 1 })
        // A clock that steps back does not produce smaller ids.
        #expect(gen.next(now: now.addingTimeInterval(-60)) > ids.last!)
    }

    @Test func bucketBoundaries() {
        let b = 1000
        #expect(Snowflake.firstID(ofBucket: b).bucket == b)
        #expect(Snowflake(Snowflake.firstID(ofBucket: b).rawValue - 1).bucket == b - 1)
    }

    @Test func jsonNumbersAbove2to53DecodeExactly() throws {
        struct Body: Codable { var id: Snowflake }
        let big: UInt64 = 1_234_567_890_123_456_789
        #expect(try WireJSON.decode(Body.self, from: Data(#"{"id":\#(big)}"#.utf8)).id.rawValue == big)
        #expect(try WireJSON.decode(Body.self, from: Data(#"{"id":"\#(big)"}"#.utf8)).id.rawValue == big)
        #expect(String(decoding: try WireJSON.encode(Body(id: Snowflake(big))), as: UTF8.self) == #"{"id":"\#(big)"}"#)
        #expect(throws: (any Error).self) { try WireJSON.decode(Body.self, from: Data(#"{"id":"abc"}"#.utf8)) }
    }

    @Test func timestampsLookLikeDiscords() {
        #expect(DiscordTimestamp.string(from: Date(timeIntervalSince1970: 1_704_067_200)) == "2024-01-01T00:00:00.000000+00:00")
        #expect(DiscordTimestamp.string(from: Date(timeIntervalSince1970: 951_782_400.5)) == "2000-02-29T00:00:00.500000+00:00")
        #expect(DiscordTimestamp.string(from: Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000000+00:00")
        // Years past four digits and before year 0 are written whole, as "%04d" wrote them.
        #expect(DiscordTimestamp.string(from: Date(timeIntervalSince1970: 253_402_300_800)) == "10000-01-01T00:00:00.000000+00:00")
        #expect(DiscordTimestamp.string(from: Date(timeIntervalSince1970: -62_167_305_600)) == "-001-12-31T00:00:00.000000+00:00")
        // Every digit place, against the calendar's reading of the same times.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for _ in 0..<200 {
            let micros = Int64.random(in: 0...253_402_300_799_999_999)  // up to 9999-12-31T23:59:59.999999
            let date = Date(timeIntervalSince1970: Double(micros / 1_000_000)) + Double(micros % 1_000_000) / 1_000_000
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: Double(micros / 1_000_000)))
            let expected = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!,
                                  Int(micros % 1_000_000))
            let written = DiscordTimestamp.string(from: date)
            #expect(written.prefix(19) == expected.prefix(19) && written.count == 32, "\(micros)")
        }
        // Read back (relayed messages carry their edit time as this string).
        #expect(DiscordTimestamp.date(from: "2000-02-29T00:00:00.500000+00:00") == Date(timeIntervalSince1970: 951_782_400.5))
        let now = Date(timeIntervalSince1970: 1_764_093_600.123456)
        let back = DiscordTimestamp.date(from: DiscordTimestamp.string(from: now))
        #expect(back.map { abs($0.timeIntervalSince(now)) < 0.000_002 } == true)
        #expect(DiscordTimestamp.date(from: "2024-01-01T00:00:00.000000+02:00") == nil, "only UTC, as written")
        #expect(DiscordTimestamp.date(from: "yesterday") == nil)
        // As browsers and other libraries write it.
        #expect(DiscordTimestamp.date(from: "2000-02-29T00:00:00.500Z") == Date(timeIntervalSince1970: 951_782_400.5))
        #expect(DiscordTimestamp.date(from: "2000-02-29T00:00:01Z") == Date(timeIntervalSince1970: 951_782_401))
        for bad in ["2000-02-29T00:00:00.5x0Z", "2000-13-01T00:00:00Z", "2000-02-29T24:00:00Z", "2000-02-29 00:00:00Z", "-1-01-01T00:00:00Z",
                    "99999999999999999999-01-01T00:00:00Z", "2000-02-29T00:00:00.1234567890Z", ""] {
            #expect(DiscordTimestamp.date(from: bad) == nil, "\(bad)")
        }
    }
}
