@testable import ConcordCell
@testable import ConcordModels
import Foundation
import Testing

/// A relayed outbox page as the destination reads it: each event's payload goes on exactly as
/// the home cell wrote it (no decoding and encoding again), and a payload moved into the local
/// workspace changes only its `guild_id` and `member`.
@Suite("Relayed pages")
struct RelayedPageTests {
    /// Written as a home cell writes them, with what re-encoding would change: spacing, a number
    /// past what a Double holds, escapes, and brackets inside strings.
    let payloads = [
        #"{"id":"11","content":"a } ] \" , {","guild_id":"5","member":{"roles":[]},"nonce":12345678901234567890}"#,
        #"{ "message_id" : "12", "emoji" : {"name":"\u00e9"} }"#,
    ]

    @Test func payloadsGoOnAsWrittenAndTheEnvelopeIsRead() throws {
        let page = "[" + OutboxEvent.wireJSON(seq: 7, event: PendingEvent(type: "MESSAGE_CREATE", guildID: Snowflake(rawValue: 5), channelID: Snowflake(rawValue: 9),
                                                                            payload: payloads[0], requestID: "req-1"), requestID: true)
            + " , " + OutboxEvent.wireJSON(seq: 8, event: PendingEvent(type: "MESSAGE_REACTION_ADD", guildID: nil, channelID: nil, userID: Snowflake(rawValue: 3),
                                                                         payload: payloads[1], requestID: nil), requestID: true) + "]"
        let events = try OutboxEvent.page(wireJSON: Data(page.utf8))
        #expect(events.map(\.seq) == [7, 8])
        #expect(events.map(\.event.payload) == payloads)
        #expect(events[0].event.type == "MESSAGE_CREATE" && events[0].event.guildID == Snowflake(rawValue: 5))
        #expect(events[0].event.channelID == Snowflake(rawValue: 9) && events[0].event.requestID == "req-1")
        #expect(events[1].event.userID == Snowflake(rawValue: 3) && events[1].event.guildID == nil && events[1].event.requestID == nil)
        #expect(try OutboxEvent.page(wireJSON: Data("[]".utf8)).isEmpty)
        // One event as an edge reads it from Redis, and an ephemeral one.
        let single = OutboxEvent.wireJSON(seq: nil, event: PendingEvent(type: "TYPING_START", guildID: nil, channelID: Snowflake(rawValue: 9), payload: payloads[1]))
        #expect(OutboxEvent(wireJSON: Array(single.utf8))?.seq == 0)
        #expect(OutboxEvent(wireJSON: Array(single.utf8))?.event.payload == payloads[1])
    }

    @Test func plainEnvelopesReadAsTheDecoderReadsThem() throws {
        // As the cell writes them, and every other form the decoder reads or refuses.
        let values: [String: [String]] = [
            "seq": ["7", "null", "-1", "9223372036854775807", "9223372036854775808", "1.5", "1e3", #""7""#],
            "t": [#""MESSAGE_CREATE""#, #""""#, "null", #""T\u0041""#, #""é🎉""#, "5"],
            "guild_id": [#""5""#, "null", "5", #""18446744073709551615""#, #""9223372036854775808""#, #""-1""#, #""x""#, #""1\u0030""#],
            "channel_id": [#""9""#, "null", #""""#],
            "user_id": [#""3""#, "null", "true"],
            "rid": [#""req-1""#, "null", #""a\"b""#, "1"],
        ]
        for _ in 0..<2000 {
            var members = values.keys.filter { _ in Int.random(in: 0..<6) > 0 }.map { #""\#($0)":\#(values[$0]!.randomElement()!)"# }
            if Int.random(in: 0..<8) == 0 { members.append(#""seq":1"#) }
            if Int.random(in: 0..<8) == 0 { members.append(#""s\u0065q":2"#) }
            if Int.random(in: 0..<8) == 0 { members.append(#""other":{"seq":3}"#) }
            members.append(#""d":{"a":1}"#)
            let text = "{" + members.shuffled().joined(separator: ",") + "}"
            let bytes = Array(text.utf8)
            let all = try #require(JSONMembers.object(bytes, 0..<bytes.count))
            let payload = try #require(all.first { JSONMembers.key($0, in: bytes, is: "d") })
            guard let plain = OutboxEvent.Envelope(plain: bytes, all, payload: payload) else { continue }
            #expect(plain == OutboxEvent.Envelope(decoding: bytes, all, payload: payload), "\(text)")
        }
        // What the cell writes is read without the decoder.
        let written = Array(OutboxEvent.wireJSON(seq: 7, event: PendingEvent(type: "T", guildID: Snowflake(rawValue: 5), channelID: nil,
                                                                              payload: "{}", requestID: "r"), requestID: true).utf8)
        let all = try #require(JSONMembers.object(written, 0..<written.count))
        #expect(OutboxEvent.Envelope(plain: written, all, payload: all.last!) == .init(seq: 7, t: "T", guild_id: Snowflake(rawValue: 5), channel_id: nil, user_id: nil, rid: "r"))
    }

    @Test func aBrokenPageIsRefusedAndNeverCrashes() throws {
        for text in ["", "[", "[{}]", #"[{"d":{}}]"#, #"[{"t":"X","d":]"#, #"[{"t":"X"}]"#, #"[{"t":"X","d":{}}"#, "[1]", #"{"t":"X","d":{}}"#,
                     #"[{"t":"X","d":"\"]"#, String(repeating: "[", count: 100_000), #"[{"t":"X","d":{"a":"\u0000"}}]"#] {
            #expect(throws: (any Error).self, "\(text.prefix(40))") { try OutboxEvent.page(wireJSON: Data(text.utf8)) }
        }
        // Every cut and every flipped byte of a good page: an error or events, never a crash or a wrong split.
        let good = Array(("[" + OutboxEvent.wireJSON(seq: 7, event: PendingEvent(type: "T", guildID: nil, channelID: nil, payload: payloads[0])) + "]").utf8)
        for cut in 0..<good.count { _ = try? OutboxEvent.page(wireJSON: Data(good[..<cut])) }
        for at in good.indices {
            for byte in [UInt8(ascii: "\""), UInt8(ascii: "}"), UInt8(ascii: "\\"), UInt8(ascii: ","), 0] {
                var bad = good
                bad[at] = byte
                if let events = try? OutboxEvent.page(wireJSON: Data(bad)) {
                    // Whatever parses is valid JSON all the way through, the payload included.
                    for event in events { #expect((try? JSONSyntax.check(Array(event.event.payload.utf8))) != nil) }
                }
            }
        }
    }

    @Test func aPayloadMovesIntoTheLocalWorkspaceWithEverythingElseAsWritten() throws {
        let moved = CellDomain.relocated(payloads[0], to: Snowflake(rawValue: 77))
        #expect(moved == #"{"id":"11","content":"a } ] \" , {","guild_id":"77","nonce":12345678901234567890}"#)
        // A payload without a guild_id gets one; one that is not an object goes on unchanged.
        #expect(CellDomain.relocated(#"{"id":"1"}"#, to: Snowflake(rawValue: 77)) == #"{"id":"1","guild_id":"77"}"#)
        #expect(CellDomain.relocated("[1]", to: Snowflake(rawValue: 77)) == "[1]")
        #expect(JSONMembers.editing(" { } ", replacing: [:]) == "{}")
        #expect(JSONMembers.editing(#"{"a":1,"a":2}"#, replacing: ["a": "3"]) == #"{"a":3}"#)
    }
}
