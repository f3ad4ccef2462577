import ConcordAuth
import ConcordGateway
import ConcordModels
import Foundation
import Testing

/// What a careless or hostile client sends, against the pure parts that meet it first.
@Suite("Hostile input")
struct HostileInputTests {
    func problem(_ text: String) -> JSONSyntax.Problem? {
        do { try JSONSyntax.check(Array(text.utf8)); return nil } catch { return error }
    }

    @Test func strictJSONRefusesWhatFoundationForgives() {
        #expect(problem(#"{"content":"x"}"#) == nil)
        #expect(problem(#" [1, -2.5e3, true, false, null, "a\"b\\u00e9", {"k": []}] "#) == nil)
        #expect(problem(#"{"content":"x",}"#) == .invalid, "trailing comma")
        #expect(problem(#"[1,]"#) == .invalid)
        #expect(problem(#"{"a":1}{"#) == .invalid, "trailing data")
        #expect(problem(#"{'a':1}"#) == .invalid)
        #expect(problem(#"{"a":01}"#) == .invalid)
        #expect(problem(#"{"a":NaN}"#) == .invalid)
        #expect(problem(#"{"a":"\x"}"#) == .invalid)
        #expect(problem("{\"a\":\"tab\there\"}") == .invalid, "raw control character")
        #expect(problem("") == .invalid)
        #expect(problem(String(repeating: "[", count: 100_000)) == .invalid, "nesting past the limit, without recursion")
        #expect(problem(String(repeating: "[", count: 32) + String(repeating: "]", count: 32)) == nil)
        #expect(problem(String(repeating: "[", count: 33) + String(repeating: "]", count: 33)) == .invalid)
    }

    @Test func aNulCharacterIsAFormErrorAtItsPath() throws {
        #expect(problem(#"{"content":"nul\u0000byte"}"#) == .nulCharacter(path: ["content"]))
        #expect(problem(#"{"embeds":[{"title":"ok"},{"fields":[{"name":"\u0000"}]}]}"#) == .nulCharacter(path: ["embeds", "1", "fields", "0", "name"]))
        #expect(problem(#"{"content":"\u0001"}"#) == nil)
        do {
            _ = try WireJSON.decodeBody(MessageCreateRequest.self, from: Data(#"{"content":"nul\u0000byte"}"#.utf8))
            Issue.record("a NUL was accepted")
        } catch let error as APIError {
            #expect(error.status == 400 && error.code == 50035)
            #expect(error.errors?.entries.first?.path == ["content"])
        }
        do {
            _ = try WireJSON.decodeBody(MessageCreateRequest.self, from: Data(#"{"content":"x",}"#.utf8))
            Issue.record("a trailing comma was accepted")
        } catch let error as APIError {
            #expect(error == .invalidJSON)
        }
    }

    @Test func snowflakesAreBigintsOrNothing() throws {
        #expect(Snowflake("18446744073709551615") == nil, "2^64-1 is no id")
        #expect(Snowflake("9223372036854775808") == nil)
        #expect(Snowflake("9223372036854775807") == Snowflake.max)
        #expect(Snowflake("-1") == nil)
        #expect(Snowflake("99999999999999999999999") == nil)
        #expect(throws: (any Error).self) { try WireJSON.decode([Snowflake].self, from: Data("[18446744073709551615]".utf8)) }
        #expect(throws: (any Error).self) { try WireJSON.decode([Snowflake].self, from: Data(#"["18446744073709551615"]"#.utf8)) }
        #expect(try WireJSON.decode([Snowflake].self, from: Data("[9223372036854775807]".utf8)) == [.max])
        #expect(Snowflake.max.bucket > 0, "arithmetic on the largest id does not trap")
        #expect(Snowflake.lowerBound(at: 0) == Snowflake(0), "a time before the epoch is the first id")
        #expect(Snowflake.lowerBound(at: .max) <= Snowflake.max)
    }

    @Test func embedsAndComponentsAreBounded() {
        func code(_ request: MessageCreateRequest) -> [String]? {
            do { try Validation.validate(request); return nil } catch let e as APIError { return e.errors?.entries.map { $0.path.joined(separator: ".") } } catch { return nil }
        }
        var embed = Embed(title: "t")
        embed.url = String(repeating: "u", count: 2049)
        embed.image = .init(url: String(repeating: "i", count: 3000), height: -1, width: 10)
        embed.color = Int.max
        #expect(code(MessageCreateRequest(embeds: [embed])) == ["embeds.0.url", "embeds.0.image.url", "embeds.0.color", "embeds.0.image.height"])
        var request = MessageCreateRequest(content: "x")
        let button: JSONValue = .object(["type": .int(2), "label": .string(String(repeating: "l", count: 81)), "custom_id": .string("c"),
                                         "emoji": .object(["name": .string(String(repeating: "e", count: 600))])])
        request.components = [.object(["type": .int(1), "components": .array([button])])]
        #expect(code(request)?.sorted() == ["components.0.components.0.emoji.name", "components.0.components.0.label"])
        let select: JSONValue = .object(["type": .int(3), "custom_id": .string("s"), "options": .array(Array(repeating: .object(["label": .string("o")]), count: 26))])
        request.components = [.object(["type": .int(1), "components": .array([select])])]
        #expect(code(request) == ["components.0.components.0.options"])
    }

    @Test func aResumeBufferIsBoundedByBytes() {
        var buffer = ResumeBuffer(capacity: 1000, byteCapacity: 10_000)
        let frame = String(repeating: "x", count: 1000)
        for seq in 1...50 { buffer.append(seq: Int64(seq), frame: frame) }
        #expect(buffer.keptBytes <= 10_000)
        #expect(buffer.kept.count == 10)
        #expect(buffer.replay(after: 45)?.count == 5)
        #expect(buffer.replay(after: 10) == nil, "older frames were let go: op 9")
        buffer.drop(through: 48)
        #expect(buffer.keptBytes == 2000)
    }

    @Test func moreThan120CommandsAMinuteClose4008() {
        var s = GatewaySession(now: 0, heartbeatInterval: 41.25)
        let heartbeat = Array(#"{"op":1,"d":null}"#.utf8)
        for i in 0..<120 { #expect(s.receive(heartbeat, now: Double(i) * 0.1) == [.send(ServerFrame.heartbeatAck)]) }
        #expect(s.receive(heartbeat, now: 12.5) == [.close(.rateLimited)])
        var later = GatewaySession(now: 0, heartbeatInterval: 41.25)
        for i in 0..<120 { _ = later.receive(heartbeat, now: Double(i) * 0.1) }
        #expect(later.receive(heartbeat, now: 60.5) == [.send(ServerFrame.heartbeatAck)], "a new window")
    }

    @Test func gatewayFramesAreCheckedStrictly() {
        var s = GatewaySession(now: 0)
        #expect(s.receive(Array(#"{"op":1,"d":null,}"#.utf8), now: 1) == [.close(.decodeError)])
        var nul = GatewaySession(now: 0)
        #expect(nul.receive(Array(#"{"op":2,"d":{"token":"a\u0000","intents":1,"properties":{}}}"#.utf8), now: 1) == [.close(.decodeError)])
    }

    /// Each opcode's d is read straight into its shape: numbers past what it holds, negative ones
    /// and a 10 MB frame close the session with a code, and nothing else happens.
    @Test func gatewayNumbersOutOfRangeCloseWithACode() {
        func reply(_ frame: String, ready: Bool = false) -> [GatewaySession.Action] {
            var s = GatewaySession(now: 0)
            if ready { _ = s.receive(Array(#"{"op":2,"d":{"token":"t","intents":1}}"#.utf8), now: 0); s.identified(intents: .guilds) }
            return s.receive(Array(frame.utf8), now: 1)
        }
        let max = "18446744073709551615"
        #expect(reply(#"{"op":\#(max),"d":null}"#) == [.close(.decodeError)])
        #expect(reply(#"{"op":-1,"d":null}"#) == [.close(.unknownOpcode)])
        #expect(reply(#"{"op":2,"d":{"token":"t","intents":\#(max)}}"#) == [.close(.decodeError)])
        #expect(reply(#"{"op":2,"d":{"token":"t","intents":-1}}"#) == [.close(.invalidIntents)])
        #expect(reply(#"{"op":6,"d":{"token":"t","session_id":"s","seq":\#(max)}}"#) == [.close(.decodeError)])
        #expect(reply(#"{"op":8,"d":{"guild_id":"1","limit":\#(max)}}"#, ready: true) == [.close(.decodeError)])
        #expect(reply(#"{"op":1,"d":\#(max)}"#) == [.send(ServerFrame.heartbeatAck)], "a heartbeat's sequence is only remembered")
        #expect(reply(#"{"op":1,"d":-1}"#) == [.send(ServerFrame.heartbeatAck)])
        let huge = #"{"op":2,"d":{"token":""# + String(repeating: "x", count: 10 << 20) + #"","intents":1}}"#
        #expect(reply(huge) == [.close(.decodeError)])
        // Op 3 is read in its own shape too: a number past its field closes, -1 is only a type.
        #expect(reply(#"{"op":3,"d":{"status":"idle","activities":[{"type":\#(max)}]}}"#, ready: true) == [.close(.decodeError)])
        guard case .updatePresence(let odd)? = reply(#"{"op":3,"d":{"status":"dnd","activities":[{"type":-1,"state":"x"}]}}"#, ready: true).first else {
            Issue.record("a presence with an unknown activity type is applied")
            return
        }
        #expect(odd.state == PresenceState(status: .dnd))
        #expect(reply(#"{"op":3,"d":{"activities":[{"type":4,"state":"a\u0000b"}]}}"#, ready: true) == [.close(.decodeError)],
                "a NUL never reaches the presence (the frame's strict check refuses it)")
        let hugePresence = #"{"op":3,"d":{"status":""# + String(repeating: "x", count: 10 << 20) + #""}}"#
        #expect(reply(hugePresence, ready: true) == [.close(.decodeError)])
    }

    @Test func op40CannotGrowASessionWithoutBound() {
        var levels = SubscriptionLevels()
        for batch in 0..<30 {
            let channels = Dictionary(uniqueKeysWithValues: (0..<500).map { (String(batch * 500 + $0 + 1), SubscriptionLevel.counts) })
            levels.apply(ChannelSubscriptionsPayload(guild_id: Snowflake(1), channels: channels))
        }
        #expect(levels.channelCount == SubscriptionLevels.maximumChannels)
    }

    @Test func passwordHashesUpgradeAndRefuseTamperedParameters() throws {
        let weak = PasswordHasher(costLog2: 10)
        let strong = PasswordHasher(costLog2: 11)
        let stored = try weak.hash("hunter22")
        #expect(PasswordHasher.verify("hunter22", against: stored))
        #expect(strong.isWeaker(stored))
        #expect(!weak.isWeaker(stored))
        #expect(!PasswordHasher.verify("hunter22", against: "scrypt$1073741824$8$1$AAAA$AAAA"), "a hash asking for 2^30 rounds is not run")
        #expect(PasswordHasher.standard.rounds == 1 << 17, "OWASP's cost by default")
    }
}
