import ConcordGateway
import ConcordModels
import Foundation
import Testing

@Suite("Gateway protocol state machine")
struct GatewaySessionTests {
    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
    let identify = #"{"op":2,"d":{"token":"t","intents":513,"properties":{"os":"linux"}}}"#

    @Test func helloCarriesTheHeartbeatInterval() {
        let session = GatewaySession(now: 0, heartbeatInterval: 41.25)
        #expect(session.hello() == .send(#"{"op":10,"d":{"heartbeat_interval":41250},"s":null,"t":null}"#))
    }

    @Test func heartbeatsAreAckedBeforeAndAfterIdentify() {
        var s = GatewaySession(now: 0)
        #expect(s.receive(bytes(#"{"op":1,"d":null}"#), now: 1) == [.send(ServerFrame.heartbeatAck)])
        guard case .authenticate(let payload) = s.receive(bytes(identify), now: 2).first else { Issue.record("no authenticate"); return }
        #expect(payload.token == "t" && payload.intents == 513)
        s.identified(intents: Intents(rawValue: 513))
        #expect(s.phase == .ready)
        #expect(s.receive(bytes(#"{"op":1,"d":5}"#), now: 3) == [.send(ServerFrame.heartbeatAck)])
        #expect(s.clientSequence == 0, "a sequence the session never sent is not an acknowledgement")
        _ = s.dispatch("GUILD_CREATE", data: "{}")
        _ = s.dispatch("GUILD_CREATE", data: "{}")
        _ = s.receive(bytes(#"{"op":1,"d":2}"#), now: 4)
        #expect(s.clientSequence == 2)
        _ = s.receive(bytes(#"{"op":1,"d":1}"#), now: 5)
        #expect(s.clientSequence == 2, "acknowledgements never go back")
    }

    @Test func heartbeatsReadAsTheDecoderReadsThem() throws {
        // Read by hand or left to the decoder, a frame comes out as the decoder reads it.
        let texts = [#"{"op":1,"d":null}"#, #"{"op":1,"d":5}"#, #"{"d":7,"op":1}"#, #"{"op":1}"#, #" { "op" : 1 , "d" : -3 } "#,
                     #"{"op":1,"d":9223372036854775807}"#, #"{"op":1,"d":9223372036854775808}"#, #"{"op":1,"d":1.0}"#, #"{"op":1,"d":1e2}"#,
                     #"{"op":1,"d":true}"#, #"{"op":1,"d":"5"}"#, #"{"op":1,"d":[1]}"#, #"{"op":1,"d":5,"d":6}"#, #"{"op":1,"op":2,"d":1}"#,
                     #"{"op":1,"d":5,"extra":{"a":[1,"x"]}}"#, #"{"o\u0070":1,"d":5}"#, #"{"op":"1","d":5}"#, #"{"op":1.5}"#,
                     #"{"op":3,"d":null}"#, identify, #"{"op":1,"d":5"#, "[]", "", "null"]
        func described(_ frame: ClientFrame?) -> String { frame.map { "\($0.op) \($0.d)" } ?? "none" }
        for text in texts {
            let decoded = try? WireJSON.decode(ClientFrame.self, from: Data(text.utf8))
            if let read = ClientFrame(heartbeat: bytes(text)) {
                #expect(described(read) == described(decoded), "\(text)")
                #expect(read.op == 1)
            }
        }
        #expect(ClientFrame(heartbeat: bytes(#"{"op":1,"d":5}"#)).map(described) == "1 value(Optional(ConcordModels.JSONValue.int(5)))")
        #expect(ClientFrame(heartbeat: bytes(#"{"op":1,"d":null}"#)).map(described) == "1 value(nil)")
        #expect(ClientFrame(heartbeat: bytes(identify)) == nil)
    }

    @Test func hostileHeartbeatsAreReadOrRefusedWithoutHarm() throws {
        // Out-of-range and negative sequences, a NUL: read as the decoder reads them (not as a sequence).
        for text in [#"{"op":1,"d":18446744073709551615}"#, #"{"op":1,"d":-1}"#, #"{"op":1,"d":"\u0000"}"#, #"{"op":18446744073709551615,"d":1}"#] {
            let decoded = try? WireJSON.decode(ClientFrame.self, from: Data(text.utf8))
            if let read = ClientFrame(heartbeat: bytes(text)) { #expect("\(read.d)" == decoded.map { "\($0.d)" }, "\(text)") }
        }
        var s = GatewaySession(now: 0)
        #expect(s.receive(bytes(#"{"op":1,"d":18446744073709551615}"#), now: 1) == [.send(ServerFrame.heartbeatAck)])
        #expect(s.receive(bytes(#"{"op":1,"d":-1}"#), now: 2) == [.send(ServerFrame.heartbeatAck)])
        #expect(s.clientSequence == 0)
        // Ten megabytes of digits, or of nesting, handed to the reader directly (a session
        // refuses such frames by size first): no sequence, no crash, no deep recursion.
        let digits = #"{"op":1,"d":"# + String(repeating: "9", count: 10_000_000) + "}"
        #expect(ClientFrame(heartbeat: bytes(digits)) == nil)
        let nested = #"{"op":1,"x":"# + String(repeating: "[", count: 5_000_000) + String(repeating: "]", count: 5_000_000) + "}"
        #expect(ClientFrame(heartbeat: bytes(nested)) == nil)
        var t = GatewaySession(now: 0)
        #expect(t.receive(bytes(digits), now: 1) == [.close(.decodeError)])
    }

    @Test func heartbeatTimeoutClosesWith4009() {
        var s = GatewaySession(now: 0, heartbeatInterval: 10)
        _ = s.receive(bytes(identify), now: 1)
        s.identified(intents: .guilds)
        #expect(s.tick(now: 15).isEmpty, "half an interval of grace")
        _ = s.receive(bytes(#"{"op":1,"d":1}"#), now: 15)
        #expect(s.tick(now: 29).isEmpty)
        #expect(s.tick(now: 30.1) == [.close(.sessionTimedOut)])
        #expect(s.phase == .closed(.sessionTimedOut))
        #expect(s.receive(bytes(#"{"op":1,"d":1}"#), now: 31).isEmpty, "nothing after close")
    }

    /// A session whose socket was closed after READY keeps numbering what it is sent (kept for a
    /// RESUME, as a dropped socket's is), and a resume carries the numbers on with no gap; one
    /// that never identified numbers nothing.
    @Test func aSessionClosedAfterReadyNumbersOnUntilItResumes() {
        let body = DispatchBody(type: "MESSAGE_CREATE", data: "{}")
        var s = GatewaySession(now: 0, heartbeatInterval: 10)
        _ = s.receive(bytes(identify), now: 1)
        s.identified(intents: [.guilds, .guildMessages])
        #expect(s.dispatch(body, needs: nil)?.seq == 1)
        #expect(s.tick(now: 30) == [.close(.sessionTimedOut)])
        #expect(s.dispatch(body, needs: nil)?.seq == 2, "numbered while closed")
        #expect(s.dispatch(body, needs: .guildMessages)?.seq == 3)
        #expect(s.dispatch(body, needs: .guildPresences) == nil, "intents still apply")
        s.reattached(now: 31)
        #expect(s.phase == .ready)
        #expect(s.dispatch(body, needs: nil)?.seq == 4)

        var unidentified = GatewaySession(now: 0, heartbeatInterval: 10)
        #expect(unidentified.dispatch(body, needs: nil) == nil)
        _ = unidentified.receive(bytes("{"), now: 1)
        #expect(unidentified.dispatch(body, needs: nil) == nil)
    }

    /// Member requests past their rate get RATE_LIMITED (with when to ask again) and the session
    /// stays; the next window takes requests again.
    @Test func memberRequestsPastTheirRateAreAnsweredRateLimited() {
        var s = GatewaySession(now: 0, heartbeatInterval: 1000)
        _ = s.receive(bytes(identify), now: 0)
        s.identified(intents: .guilds)
        let request = #"{"op":8,"d":{"guild_id":"42","query":"","limit":0,"nonce":"n"}}"#
        var served = 0
        for _ in 0..<GatewaySession.memberRequestsPerWindow {
            if case .requestGuildMembers(let payload)? = s.receive(bytes(request), now: 1).first, payload.guild_id == Snowflake(42) { served += 1 }
        }
        #expect(served == GatewaySession.memberRequestsPerWindow)
        guard case .rateLimited(let opcode, let wait, let refused)? = s.receive(bytes(request), now: 2).first else {
            Issue.record("no RATE_LIMITED"); return
        }
        #expect(opcode == 8 && refused.nonce == "n" && wait > 0 && wait <= GatewaySession.memberRequestWindow)
        #expect(s.phase == .ready, "the session stays")
        if case .requestGuildMembers? = s.receive(bytes(request), now: GatewaySession.memberRequestWindow + 0.5).first {} else {
            Issue.record("the next window takes requests again")
        }
    }

    /// Presence updates past their rate are not lost: the latest waits for the next window
    /// (the ones it replaced are never sent).
    @Test func presenceUpdatesPastTheirRateWaitAndTheLatestWins() throws {
        var s = GatewaySession(now: 0, heartbeatInterval: 1000)
        _ = s.receive(bytes(identify), now: 0)
        s.identified(intents: .guilds)
        func update(_ status: String) -> String { #"{"op":3,"d":{"status":"\#(status)","since":null,"activities":[],"afk":false}}"# }
        var sent: [String] = []
        for status in ["online", "idle", "dnd", "online", "idle", "dnd", "invisible"] {
            for case .updatePresence(let presence) in s.receive(bytes(update(status)), now: 1) { sent.append(presence.status ?? "?") }
        }
        #expect(sent == ["online", "idle", "dnd", "online", "idle"])
        #expect(s.tick(now: 5).isEmpty, "held until the window opens")
        let latest = try JSONDecoder().decode(IdentifyPayload.Presence.self, from: Data(#"{"status":"invisible","activities":[],"afk":false}"#.utf8))
        #expect(s.tick(now: GatewaySession.presenceUpdateWindow + 0.1) == [.updatePresence(latest)])
        #expect(s.tick(now: GatewaySession.presenceUpdateWindow + 1.1).isEmpty, "sent once")
    }

    @Test func identifyTimeoutClosesWith4003() {
        var s = GatewaySession(now: 0, heartbeatInterval: 100, identifyTimeout: 20)
        #expect(s.tick(now: 19).isEmpty)
        #expect(s.tick(now: 21) == [.close(.notAuthenticated)])
    }

    @Test func badFramesGetTheirCloseCodes() {
        func closeCode(_ frame: String, ready: Bool = false) -> GatewayCloseCode? {
            var s = GatewaySession(now: 0)
            if ready { _ = s.receive(bytes(identify), now: 0); s.identified(intents: .guilds) }
            guard case .close(let code)? = s.receive(bytes(frame), now: 1).last else { return nil }
            return code
        }
        #expect(closeCode("not json") == .decodeError)
        #expect(closeCode(#"{"op":1,"d":"\#(String(repeating: "x", count: 5000))"}"#) == .decodeError)
        #expect(closeCode(#"{"op":42}"#) == .unknownOpcode)
        #expect(closeCode(#"{"op":11}"#) == .unknownOpcode)
        #expect(closeCode(#"{"op":3,"d":{"status":"online"}}"#) == .notAuthenticated)
        #expect(closeCode(#"{"op":8,"d":{"guild_id":"1"}}"#) == .notAuthenticated)
        #expect(closeCode(#"{"op":2,"d":{"token":5}}"#) == .decodeError)
        // Each opcode's d is read in its own shape: missing or of another shape is a decode error.
        #expect(closeCode(#"{"op":2}"#) == .decodeError)
        #expect(closeCode(#"{"op":6,"d":{"token":"t","session_id":"s","seq":"one"}}"#) == .decodeError)
        #expect(closeCode(#"{"op":8,"d":{"guild_id":[]}}"#, ready: true) == .decodeError)
        #expect(closeCode(#"{"op":40,"d":{"guild_id":"1","default":"loud"}}"#, ready: true) == .decodeError)
        #expect(closeCode(#"{"op":3,"d":null}"#, ready: true) == .decodeError)
        #expect(closeCode(#"{"op":3,"d":{"status":5}}"#, ready: true) == .decodeError)
        #expect(closeCode(#"{"op":3,"d":{"status":"idle","activities":"playing"}}"#, ready: true) == .decodeError)
        #expect(closeCode(#"{"op":99,"d":{"token":5}}"#) == .unknownOpcode)
        #expect(closeCode(#"{"op":2,"d":{"token":"t","intents":\#(1 << 30)}}"#) == .invalidIntents)
        #expect(closeCode(identify, ready: true) == .alreadyAuthenticated)
        #expect(closeCode(#"{"op":6,"d":{"token":"t","session_id":"s","seq":1}}"#, ready: true) == .alreadyAuthenticated)
        #expect(closeCode(#"{"op":3,"d":{"status":"idle","since":0,"afk":false,"activities":[]}}"#, ready: true) == nil)
        var s = GatewaySession(now: 0)
        _ = s.receive(bytes(identify), now: 0)
        #expect(s.authenticationFailed() == [.close(.authenticationFailed)])
    }

    @Test func dispatchesAreNumberedAndFilteredByIntents() {
        var s = GatewaySession(now: 0)
        #expect(s.dispatch("MESSAGE_CREATE", data: "{}") == nil, "nothing before READY")
        _ = s.receive(bytes(identify), now: 0)
        s.identified(intents: .guilds)
        #expect(s.dispatch("READY", data: "{}")?.seq == 1)
        #expect(s.dispatch("MESSAGE_CREATE", data: "{}") == nil, "no GUILD_MESSAGES intent")
        let channel = s.dispatch("CHANNEL_CREATE", data: #"{"id":"1"}"#)
        #expect(channel?.seq == 2)
        #expect(channel?.frame == #"{"op":0,"d":{"id":"1"},"s":2,"t":"CHANNEL_CREATE"}"#)
    }

    @Test func aDispatchIsWrittenAsItsFrameSplicedWhole() {
        for (type, data, seq) in [("MESSAGE_CREATE", #"{"content":"é ✓ \u0000"}"#, Int64(1)), ("READY", "{}", Int64.max), ("X", "", Int64(-1))] {
            let dispatch = Dispatch(seq: seq, type: type, data: data)
            var pieces = ""
            dispatch.withPieces(text: { pieces += $0 }, number: { pieces += String($0) })
            #expect(pieces == ServerFrame.dispatch(type, seq: seq, data: data))
            #expect(dispatch.frame == pieces)
            #expect(dispatch.byteCount == pieces.utf8.count)
        }
        var buffer = ResumeBuffer(capacity: 10)
        buffer.append(Dispatch(seq: 1, type: "A", data: "{}"))
        buffer.append(seq: 2, frame: "handed over")
        #expect(buffer.replay(after: 0) == [#"{"op":0,"d":{},"s":1,"t":"A"}"#, "handed over"])
        #expect(buffer.keptBytes == 29 + 11)
    }

    @Test func directMessagesAreGatedByTheirOwnIntents() {
        var s = GatewaySession(now: 0)
        _ = s.receive(bytes(identify), now: 0)
        s.identified(intents: [.guilds, .guildMessages])
        #expect(s.dispatch("MESSAGE_CREATE", data: "{}", direct: true) == nil, "GUILD_MESSAGES does not cover DMs")
        #expect(s.dispatch("MESSAGE_CREATE", data: "{}")?.seq == 1)
        var dms = GatewaySession(now: 0)
        _ = dms.receive(bytes(identify), now: 0)
        dms.identified(intents: .directMessages)
        #expect(dms.dispatch("MESSAGE_CREATE", data: "{}", direct: true)?.seq == 1)
        #expect(dms.dispatch("MESSAGE_CREATE", data: "{}") == nil)
        #expect(dms.dispatch("TYPING_START", data: "{}", direct: true) == nil, "DM typing has its own intent")
    }

    @Test func resumeReplaysExactlyWhatWasMissed() {
        var buffer = ResumeBuffer(capacity: 3)
        #expect(buffer.replay(after: 0) == [])
        for seq in Int64(1)...5 { buffer.append(seq: seq, frame: "f\(seq)") }
        #expect(buffer.replay(after: 5) == [])
        #expect(buffer.replay(after: 3) == ["f4", "f5"])
        #expect(buffer.replay(after: 2) == ["f3", "f4", "f5"])
        #expect(buffer.replay(after: 1) == nil, "f2 is no longer kept: invalid session, never a silent gap")
        #expect(buffer.replay(after: 9) == nil)
        for seq in Int64(6)...20 { buffer.append(seq: seq, frame: "f\(seq)") }
        #expect(buffer.replay(after: 17) == ["f18", "f19", "f20"])

        // Handed over to another edge with only the frames after the client's last heartbeat.
        let handedOver = ResumeBuffer(capacity: 3, kept: buffer.kept.filter { $0.seq > 19 }, lastSeq: 20)
        #expect(handedOver.replay(after: 20) == [])
        #expect(handedOver.replay(after: 19) == ["f20"])
        #expect(handedOver.replay(after: 18) == nil)
        var acknowledged = buffer
        acknowledged.drop(through: 19)
        #expect(acknowledged.kept.map(\.seq) == [20], "frames the client acknowledged are dropped")
        #expect(acknowledged.replay(after: 19) == ["f20"])
        // READY is sent, not kept: a client that resumes has it (it names the session).
        var afterReady = ResumeBuffer(capacity: 3)
        afterReady.sentOnly(Dispatch(seq: 1, type: "READY", data: #"{"session_id":"s"}"#))
        #expect(afterReady.keptBytes == 0 && afterReady.replay(after: 1) == [])
        afterReady.append(seq: 2, frame: "guild")
        #expect(afterReady.replay(after: 1) == ["guild"], "a client that had only READY gets what followed it")
        #expect(afterReady.replay(after: 0) == nil, "READY itself is never replayed")
        let nothingKept = ResumeBuffer(capacity: 3, kept: [], lastSeq: 20)
        #expect(nothingKept.replay(after: 20) == [], "a client that had everything resumes with nothing to replay")
        #expect(nothingKept.replay(after: 19) == nil)
    }

    /// Frames are numbered one after another, so the buffer keeps the first one's number only;
    /// a number that skips some lets the earlier frames go (they could not be replayed in order
    /// with it), and numbers stay right through the storage's reuse.
    @Test func framesAreNumberedFromTheFirstKept() {
        var buffer = ResumeBuffer(capacity: 10)
        for seq in Int64(1)...3 { buffer.append(seq: seq, frame: "f\(seq)") }
        buffer.append(seq: 7, frame: "f7")
        #expect(buffer.kept.map(\.seq) == [7])
        #expect(buffer.replay(after: 6) == ["f7"])
        #expect(buffer.replay(after: 2) == nil)
        #expect(buffer.replay(after: .max) == nil && buffer.replay(after: .min) == nil)
        for seq in Int64(8)...40 {
            buffer.append(seq: seq, frame: "f\(seq)")
            if seq % 7 == 0 { buffer.drop(through: seq - 3) }
        }
        #expect(buffer.kept.map(\.seq) == Array(33...40))
        #expect(buffer.replay(after: 35) == (36...40).map { "f\($0)" })
        #expect(buffer.replay(after: 32) == (33...40).map { "f\($0)" })
        #expect(buffer.replay(after: 31) == nil)
    }

    /// A drain hands each body over once, however many sessions were sent it; a buffer made
    /// again from the table replays what the drained one would have, from the client's
    /// acknowledged number on, at most `limit` frames.
    @Test func aDrainHandsEachBodyOverOnce() throws {
        let bodies = (1...6).map { DispatchBody(type: "MESSAGE_CREATE", data: #"{"n":\#($0)}"#) }
        var first = ResumeBuffer(capacity: 10), second = ResumeBuffer(capacity: 10)
        first.sentOnly(Dispatch(seq: 1, type: "READY", data: "{}"))
        for (offset, body) in bodies.enumerated() { first.append(Dispatch(seq: Int64(offset + 2), body: body)) }
        second.append(seq: 1, frame: "handed over whole")
        for (offset, body) in bodies.enumerated() { second.append(Dispatch(seq: Int64(offset + 2), body: body)) }
        var table = HandOverTable()
        let a = first.handOver(after: 3, limit: 200, into: &table)
        let b = second.handOver(after: 0, limit: 5, into: &table)
        #expect(table.bodies.count == 5, "nine frames of five bodies: each body once")
        #expect(a.firstSeq == 4 && a.bodies.count == 4)
        #expect(b.firstSeq == 3 && b.bodies.count == 5, "the newest five")
        // Through JSON, as Redis keeps it.
        let stored = try WireJSON.decode([HandedOverBody].self, from: WireJSON.encode(table.bodies)).map(\.dispatchBody)
        let adopted = ResumeBuffer(firstSeq: a.firstSeq, bodies: a.bodies.map { stored[$0] }, lastSeq: 7)
        #expect(adopted.replay(after: 3) == first.replay(after: 3))
        #expect(adopted.replay(after: 2) == nil && adopted.replay(after: 7) == [])
        // Whatever number the client sent.
        #expect(first.handOver(after: .max, limit: 200, into: &table).bodies.isEmpty)
        #expect(first.handOver(after: .min, limit: 200, into: &table).bodies.count == 6)
        #expect(first.handOver(after: 5, limit: -1, into: &table).bodies.isEmpty)
        #expect(ResumeBuffer().handOver(after: 0, limit: 200, into: &table).bodies.isEmpty)
        // A table's numbers are Redis's word: none past the session's last, none below 1.
        let body = bodies[0]
        #expect(ResumeBuffer(firstSeq: .max, bodies: [body], lastSeq: 10).replay(after: 9) == nil)
        #expect(ResumeBuffer(firstSeq: 1, bodies: [body, body, body], lastSeq: 2).replay(after: 0) == nil)
        #expect(ResumeBuffer(firstSeq: 0, bodies: [body], lastSeq: 2).replay(after: 0) == nil)
        #expect(ResumeBuffer(firstSeq: 1, bodies: [body], lastSeq: .min).kept.isEmpty)
        #expect(ResumeBuffer(firstSeq: 2, bodies: [body], lastSeq: 2).replay(after: 1)?.count == 1)
    }

    /// An idle session's buffer, once the client has acknowledged everything, holds none of the
    /// bodies it was sent (its GUILD_CREATEs are kilobytes each), and resumes as before.
    @Test func acknowledgedFramesAreLetGoAtOnce() {
        var buffer = ResumeBuffer(capacity: 1000)
        weak var guildCreate: DispatchBody?
        do {
            let body = DispatchBody(type: "GUILD_CREATE", data: String(repeating: "x", count: 2000))
            guildCreate = body
            buffer.sentOnly(Dispatch(seq: 1, type: "READY", data: "{}"))
            buffer.append(Dispatch(seq: 2, body: body))
            buffer.append(Dispatch(seq: 3, body: DispatchBody(type: "PRESENCE_UPDATE", data: "{}")))
        }
        buffer.drop(through: 2)
        #expect(guildCreate != nil, "kept while a later frame is unacknowledged and the buffer is far from full")
        #expect(buffer.replay(after: 2)?.count == 1)
        buffer.drop(through: 3)
        #expect(guildCreate == nil, "let go once everything is acknowledged")
        #expect(buffer.keptBytes == 0 && buffer.replay(after: 3) == [] && buffer.replay(after: 2) == nil)
        buffer.append(Dispatch(seq: 4, body: DispatchBody(type: "MESSAGE_CREATE", data: "{}")))
        #expect(buffer.replay(after: 3)?.count == 1 && buffer.kept.map(\.seq) == [4])
    }
}

@Suite("MESSAGE_CONTENT intent")
struct MessageContentRuleTests {
    let message = #"{"id":"9","content":"secret","embeds":[{"title":"t"}],"author":{"id":"1"},"mentions":[{"id":"2"}],"components":[]}"#

    @Test func botsWithoutTheIntentGetEmptyContentUnlessItConcernsThem() throws {
        var rule = MessageContentRule(type: "MESSAGE_CREATE", payload: message)
        let blanked = try WireJSON.decode(JSONValue.self, from: .init(rule.payload(for: Snowflake(3), isBot: true, intents: .guildMessages).utf8))
        #expect(blanked["content"] == .string(""))
        #expect(blanked["embeds"] == .array([]))
        #expect(blanked["id"] == .string("9"))
        #expect(rule.payload(for: Snowflake(1), isBot: true, intents: .guildMessages) == message, "its own message")
        #expect(rule.payload(for: Snowflake(2), isBot: true, intents: .guildMessages) == message, "it is mentioned")
        #expect(rule.payload(for: Snowflake(3), isBot: true, intents: [.guildMessages, .messageContent]) == message)
        #expect(rule.payload(for: Snowflake(3), isBot: false, intents: .guildMessages) == message, "people always see content")
        var other = MessageContentRule(type: "CHANNEL_CREATE", payload: "{}")
        #expect(other.payload(for: Snowflake(3), isBot: true, intents: []) == "{}")
    }
}

@Suite("transport compression")
struct StreamCompressionTests {
    @Test func messagesInflateOneByOneThroughOneContext() {
        let compressor = ZlibStreamCompressor()
        let decompressor = ZlibStreamDecompressor()
        let messages = [#"{"op":10,"d":{"heartbeat_interval":41250}}"#, String(repeating: #"{"t":"MESSAGE_CREATE"}"#, count: 500), "{}"]
        for message in messages {
            let bytes = compressor.compress(message)
            #expect(bytes.suffix(4) == [0, 0, 0xFF, 0xFF], "each message ends with the sync-flush marker")
            #expect(decompressor.decompress(bytes) == message)
        }
    }
}

extension StreamCompressionTests {
    /// The first frame comes from bytes computed once and makes no context; the stream made
    /// for the second frame carries on as if it had sent the first.
    @Test(arguments: GatewayCompression.allCases)
    func theFirstFrameNeedsNoContextAndTheStreamCarriesOn(_ compression: GatewayCompression) {
        let hello = ServerFrame.hello(interval: .milliseconds(41250))
        let (first, second) = (DeferredCompressor(compression), DeferredCompressor(compression))
        let reader = compression.makeDecompressor()
        let helloBytes = first.compress(hello)
        #expect(!first.isAllocated, "no context for HELLO")
        #expect(second.compress(hello) == helloBytes, "every socket's HELLO is the same bytes")
        #expect(reader.decompress(helloBytes) == hello)
        for n in 0..<20 {
            let frame = #"{"op":0,"t":"MESSAGE_CREATE","s":\#(n),"d":{"content":"\#(String(repeating: "hello ", count: n))"}}"#
            #expect(reader.decompress(first.compress(frame)) == frame)
        }
        #expect(first.isAllocated)
    }

    /// An idle zlib socket's context is freed and a new one carries the stream on: one inflater
    /// (as a client's, made once per connection) reads everything, across any number of
    /// releases. A zstd stream is never released (its frame's context alone can go on).
    @Test(arguments: GatewayCompression.allCases)
    func aReleasedStreamIsCarriedOnByANewContext(_ compression: GatewayCompression) {
        let compressor = DeferredCompressor(compression)
        let reader = compression.makeDecompressor()
        let frame = { (n: Int) in #"{"op":0,"t":"MESSAGE_CREATE","s":\#(n),"d":{"content":"\#(String(repeating: "hello ", count: 20 + n % 7))"}}"# }
        #expect(!compressor.release(), "nothing to release before the stream has a context")
        for n in 0..<3 { #expect(reader.decompress(compressor.compress(frame(n))) == frame(n)) }
        #expect(compressor.isAllocated)
        for round in 0..<4 {
            #expect(compressor.release() == compression.canBeCarriedOn)
            #expect(compressor.isAllocated == !compression.canBeCarriedOn, "a released context is gone")
            #expect(!compressor.release() || !compression.canBeCarriedOn, "released once")
            let ack = #"{"op":11}"#
            #expect(reader.decompress(compressor.compress(ack)) == ack)
            #expect(compressor.isAllocated == !compression.canBeCarriedOn, "a small frame goes stored, without a context")
            for n in 0..<(round + 1) {
                let bytes = compressor.compress(frame(n))
                if compression == .zlibStream {
                    #expect(bytes.suffix(4) == [0, 0, 0xFF, 0xFF])
                    #expect(bytes.prefix(2) != [0x48, 0x01] && bytes.prefix(2) != [0x78, 0x01], "a carried-on stream has no second zlib header")
                }
                #expect(reader.decompress(bytes) == frame(n), "round \(round), frame \(n)")
            }
        }
        let big = String(repeating: #"{"t":"GUILD_CREATE","d":{"name":"x"}}"#, count: 3_000)
        #expect(reader.decompress(compressor.compress(big)) == big)
    }

    /// A zstd-stream context keeps buffers for 4 KiB blocks, not zstd's default 128 KiB (it is
    /// most of an idle zstd session's memory), and a frame of many blocks still reads back whole.
    @Test func aZstdContextKeepsSmallBlocks() {
        let (compressor, reader) = (ZstdStreamCompressor(), ZstdStreamDecompressor())
        let channels = (0..<150).map { #"{"id":"\#(1_579_589_376_705_363_968 + $0 * 7_919)","type":0,"name":"channel-\#($0)","position":\#($0)}"# }
        let guildCreate = #"{"op":0,"t":"GUILD_CREATE","s":2,"d":{"channels":["# + channels.joined(separator: ",") + "]}}"
        #expect(guildCreate.utf8.count > 10_000)
        #expect(reader.decompress(compressor.compress(guildCreate)) == guildCreate)
        #expect(compressor.contextBytes < 96 * 1024, "the context holds \(compressor.contextBytes) bytes")
    }

    @Test func aStoredBlockHoldsAtMostItsLength() {
        #expect(ZlibStreamCompressor.stored(String(repeating: "x", count: 65_535))?.count == 65_535 + 10)
        #expect(ZlibStreamCompressor.stored(String(repeating: "x", count: 65_536)) == nil)
        #expect(ZlibStreamCompressor.stored("")?.suffix(4) == [0, 0, 0xFF, 0xFF])
    }

    @Test(arguments: GatewayCompression.allCases)
    func everyMessageDecompressesOnArrivalAndTheStreamCarriesOver(_ compression: GatewayCompression) {
        let compressor = compression.makeCompressor()
        let decompressor = compression.makeDecompressor()
        let repeated = String(repeating: #"{"t":"MESSAGE_CREATE","d":{"content":"hello"}}"#, count: 200)
        var sizes: [Int] = []
        for message in [#"{"op":10}"#, repeated, repeated, "{}", String(repeating: "x", count: 100_000)] {
            let bytes = compressor.compress(message)
            sizes.append(bytes.count)
            #expect(decompressor.decompress(bytes) == message)
        }
        #expect(sizes[2] < sizes[1], "the second copy compresses against the first: one stream per connection")
        #expect(compression.makeDecompressor().decompress([1, 2, 3, 4, 5, 6, 7, 8]) == nil, "corrupt input is refused")
    }
}

@Suite("Subscription levels (op 40)")
struct SubscriptionLevelTests {
    let guild = Snowflake(10), onScreen = Snowflake(11), counted = Snowflake(12), flagged = Snowflake(13)

    func levels() -> SubscriptionLevels {
        var levels = SubscriptionLevels()
        levels.largeGuilds = [guild]
        levels.apply(ChannelSubscriptionsPayload(guild_id: guild, default: .flag,
                                                 channels: [onScreen.description: .full, counted.description: .counts]))
        return levels
    }

    let me = Snowflake(7)
    var plain: MessageFacts { MessageFacts(payload: #"{"id":"99","mentions":[],"mention_everyone":false}"#) }
    var mentioning: MessageFacts { MessageFacts(payload: #"{"id":"99","mentions":[{"id":"7"}],"mention_everyone":false}"#) }

    @Test func eachLevelGetsItsEvents() {
        var (plain, mentioning) = (self.plain, self.mentioning)
        var l = levels()
        #expect(l.outcome(type: "MESSAGE_CREATE", guild: guild, channel: onScreen, seq: 5, user: me, facts: &plain) == .deliver)
        #expect(l.outcome(type: "MESSAGE_CREATE", guild: guild, channel: counted, seq: 5, user: me, facts: &mentioning)
                == .replace(type: "CHANNEL_UNREAD_UPDATE", data: #"{"guild_id":"10","channel_id":"12","message_id":"99","seq":5,"mention_delta":1}"#))
        #expect(l.outcome(type: "TYPING_START", guild: guild, channel: counted, seq: 0, user: me, facts: &plain) == .drop)
        #expect(l.outcome(type: "MESSAGE_CREATE", guild: guild, channel: flagged, seq: 6, user: me, facts: &plain)
                == .replace(type: "CHANNEL_UNREAD", data: #"{"guild_id":"10","channel_id":"13","message_id":"99"}"#))
        #expect(l.outcome(type: "MESSAGE_CREATE", guild: guild, channel: flagged, seq: 7, user: me, facts: &plain) == .drop,
                "a flag is sent once until the channel is read")
        #expect(l.outcome(type: "MESSAGE_ACK", guild: nil, channel: flagged, seq: 0, user: me, facts: &plain) == .deliver)
        if case .replace = l.outcome(type: "MESSAGE_CREATE", guild: guild, channel: flagged, seq: 8, user: me, facts: &plain) {} else {
            Issue.record("after a read the flag is sent again")
        }
        #expect(l.outcome(type: "CHANNEL_UPDATE", guild: guild, channel: counted, seq: 9, user: me, facts: &plain) == .deliver)
    }

    @Test func smallWorkspacesAndSessionsWithoutOp40GetEverything() {
        var plain = self.plain
        var l = levels()
        l.largeGuilds = []
        #expect(l.outcome(type: "MESSAGE_CREATE", guild: guild, channel: counted, seq: 5, user: me, facts: &plain) == .deliver)
        var untouched = SubscriptionLevels()
        untouched.largeGuilds = [guild]
        #expect(untouched.outcome(type: "MESSAGE_CREATE", guild: guild, channel: counted, seq: 5, user: me, facts: &plain) == .deliver)
    }
}
