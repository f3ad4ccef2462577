import ConcordModels
import Foundation
import Testing

/// Malformed, oversized, wrongly typed, unknown-op, binary and compressed-garbage frames, and
/// IDENTIFY/RESUME out of order, against a live edge: each socket gets one of Discord's close
/// codes (or op 9), the edge keeps serving a session that behaves, and its memory stays bounded.
@Suite("Gateway fuzzing")
struct GatewayFuzzTests {
    /// A case: the frames to send, and the close codes it may end with (nil: any of Discord's).
    struct Case {
        var name: String
        var frames: [(opcode: UInt8, bytes: [UInt8])]
        var expected: Set<UInt16>?
        var expectsInvalidSession = false
    }

    static let discordCodes = Set<UInt16>(4000...4014)
    /// What the WebSocket layer itself may answer: protocol error, bad data, too big.
    static let webSocketCodes: Set<UInt16> = [1002, 1003, 1007, 1009]

    func cases(token: String, seed: UInt64, count: Int) -> [Case] {
        var rng = SplitMix(state: seed)
        func text(_ s: String) -> (UInt8, [UInt8]) { (1, Array(s.utf8)) }
        func randomBytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) } }
        let identify = GatewayFrames.identify(token)
        var all: [Case] = [
            Case(name: "identify twice", frames: [text(identify), text(identify)], expected: [4005]),
            Case(name: "members before identify", frames: [text(#"{"op":8,"d":{"guild_id":"1","query":"","limit":0}}"#)], expected: [4003]),
            Case(name: "presence before identify", frames: [text(#"{"op":3,"d":{"status":"online"}}"#)], expected: [4003]),
            Case(name: "unknown op", frames: [text(#"{"op":99,"d":null}"#)], expected: [4001]),
            Case(name: "server op from a client", frames: [text(#"{"op":0,"d":{},"s":1,"t":"READY"}"#)], expected: [4001]),
            Case(name: "op as a string", frames: [text(#"{"op":"2","d":{}}"#)], expected: [4002]),
            Case(name: "op past Int64", frames: [text(#"{"op":18446744073709551616}"#)], expected: [4002]),
            Case(name: "payload past 4096 bytes", frames: [text(#"{"op":1,"d":null,"x":""# + String(repeating: "a", count: 5000) + #""}"#)], expected: [4002]),
            Case(name: "frame past 1 MiB", frames: [(1, Array(repeating: UInt8(ascii: "a"), count: (1 << 20) + 10))], expected: [1009]),
            Case(name: "trailing comma", frames: [text(#"{"op":1,"d":null,}"#)], expected: [4002]),
            Case(name: "NUL in the token", frames: [text(#"{"op":2,"d":{"token":"a\u0000b","intents":1,"properties":{}}}"#)], expected: [4002]),
            Case(name: "negative intents", frames: [text(#"{"op":2,"d":{"token":"\#(token)","intents":-1,"properties":{}}}"#)], expected: [4013]),
            Case(name: "bogus token", frames: [text(GatewayFrames.identify("not.a.token"))], expected: [4004]),
            Case(name: "resume of nothing", frames: [text(#"{"op":6,"d":{"token":"\#(token)","session_id":"nope","seq":18446744073709551615}}"#)],
                 expected: [4002]),
            Case(name: "resume of an unknown session", frames: [text(#"{"op":6,"d":{"token":"\#(token)","session_id":"nope","seq":3}}"#)],
                 expected: nil, expectsInvalidSession: true),
            Case(name: "resume after identify", frames: [text(identify), text(#"{"op":6,"d":{"token":"\#(token)","session_id":"x","seq":1}}"#)], expected: [4005]),
            Case(name: "130 heartbeats at once", frames: Array(repeating: text(#"{"op":1,"d":null}"#), count: 130), expected: [4008]),
            Case(name: "deep nesting", frames: [text(String(repeating: "[", count: 3000))], expected: [4002]),
            Case(name: "zlib header and garbage", frames: [(2, [0x78, 0x9C] + randomBytes(200))], expected: [4002]),
        ]
        for i in 0..<count {
            switch i % 5 {
            case 0: all.append(Case(name: "random text \(i)", frames: [(1, randomBytes(Int.random(in: 1...600, using: &rng)))], expected: nil))
            case 1: all.append(Case(name: "random binary \(i)", frames: [(2, randomBytes(Int.random(in: 1...600, using: &rng)))], expected: nil))
            case 2:
                var bytes = Array(identify.utf8)
                for _ in 0..<Int.random(in: 1...6, using: &rng) { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                all.append(Case(name: "mutated identify \(i)", frames: [(1, bytes)], expected: nil))
            case 3:
                let cut = Array(identify.utf8).prefix(Int.random(in: 1..<identify.utf8.count, using: &rng))
                all.append(Case(name: "truncated identify \(i)", frames: [(1, Array(cut))], expected: [4002]))
            default:
                let op = [Int.random(in: 12...39, using: &rng), Int.random(in: 41...100_000, using: &rng), -Int.random(in: 1...1000, using: &rng)][i % 3]
                all.append(Case(name: "op \(op)", frames: [text(#"{"op":\#(op),"d":{"guild_id":"\#(UInt64.random(in: 0...UInt64.max, using: &rng))"}}"#)],
                                expected: [4001]))
            }
        }
        return all
    }

    static func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return 0 }
        return pages * 4096
    }

    @Test func malformedFramesGetDiscordsCloseCodesAndHurtNoOne() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Fuzz")).decode(Guild.self)
            let watcher = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            watcher.send(GatewayFrames.identify(alice))
            try await watcher.waitDispatch("GUILD_CREATE")
            let port = c.edgePort
            let seed: UInt64 = 0xC0FFEE
            let all = cases(token: alice, seed: seed, count: 80)
            let before = Self.residentBytes()
            for round in 0..<2 {
                for batch in stride(from: 0, to: all.count, by: 10) {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for fuzz in all[batch..<min(batch + 10, all.count)] {
                            group.addTask {
                                let socket = try await offThePool {
                                    let socket = try StalledSocket(port: port)
                                    for frame in fuzz.frames { try? socket.send(opcode: frame.opcode, frame.bytes) }
                                    _ = socket.read(for: 5)
                                    return socket
                                }
                                let where_ = "seed \(seed), round \(round), case \(fuzz.name)"
                                if fuzz.expectsInvalidSession {
                                    #expect(socket.invalidSessions == 1, "\(where_): op 9")
                                } else if let expected = fuzz.expected {
                                    #expect(socket.closeCode.map(expected.contains) == true, "\(where_): closed with \(socket.closeCode.map(String.init) ?? "nothing")")
                                } else {
                                    #expect(socket.closeCode.map { Self.discordCodes.union(Self.webSocketCodes).contains($0) } ?? socket.endOfStream,
                                            "\(where_): closed with \(socket.closeCode.map(String.init) ?? "nothing")")
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                }
            }
            // The session that behaved still gets its messages, and the edge still answers.
            let posted = try await c.request(.POST, "/channels/\(guild.system_channel_id!)/messages", token: alice, body: MessageCreateRequest(content: "still here"))
            #expect(posted.status == 200)
            try await watcher.waitDispatch("MESSAGE_CREATE")
            #expect(try await c.request(.GET, "/gateway").status == 200)
            let grown = Self.residentBytes() - before
            // The test process is shared with the suites running beside this one, so the bound is
            // loose; an edge keeping what each hostile socket sent would pass it many times over.
            #expect(grown < 1 << 30, "two rounds of \(all.count) hostile sockets grew the process by \(grown >> 20) MiB")
            watcher.close()
        }
    }
    /// What a WebSocket client may do beyond one frame per message — fragments with a ping among
    /// them, a close code no endpoint may send — and what it may not: a continuation of nothing,
    /// a new message inside a fragmented one, fragments past 1 MiB together, an unmasked frame,
    /// reserved bits and opcodes, a fragmented control frame, a length of 2^64-1.
    @Test func fragmentsPingsAndOddCloseCodesFollowTheWebSocketRules() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let port = c.edgePort
            // An IDENTIFY in three fragments with a ping among them: READY, and the ping's pong.
            let (ready, pongs, answer) = try await offThePool { () -> (JSONValue?, [[UInt8]], UInt16?) in
                let socket = try StalledSocket(port: port)
                let identify = Array(GatewayFrames.identify(alice).utf8)
                let third = identify.count / 3
                try socket.send(opcode: 1, Array(identify[..<third]), fin: false)
                try socket.send(opcode: 9, Array("still there?".utf8))
                try socket.send(opcode: 0, Array(identify[third..<(2 * third)]), fin: false)
                try socket.send(opcode: 0, Array(identify[(2 * third)...]))
                // READY waits on the cells: up to 10 s on a loaded machine (a fresh-clone run missed it in 2).
                var frames: [JSONValue] = []
                for _ in 0..<10 where !frames.contains(where: { $0["t"]?.stringValue == "READY" }) { frames += socket.read(for: 1) }
                let ready = frames.first { $0["t"]?.stringValue == "READY" }
                // A close code out of every range: answered with 1002; it does not end the session.
                try socket.send(opcode: 8, [0xFF, 0xFF])
                _ = socket.read(for: 2)
                return (ready, socket.pongs, socket.closeCode)
            }
            let session = try #require(ready?["d"]?["session_id"]?.stringValue)
            let seq = try #require(ready?["s"]?.intValue)
            #expect(pongs == [Array("still there?".utf8)])
            #expect(answer == 1002)
            let resumed = try await offThePool {
                let socket = try StalledSocket(port: port)
                try socket.send(#"{"op":6,"d":{"token":"\#(alice)","session_id":"\#(session)","seq":\#(seq)}}"#)
                return socket.read(for: 2).contains { $0["t"]?.stringValue == "RESUMED" }
            }
            #expect(resumed, "the session outlived a close with code 65535")

            let text = Array(#"{"op":1,"d":null}"#.utf8)
            let big = Array(repeating: UInt8(ascii: "a"), count: 600_000)
            let broken: [(name: String, frames: [(opcode: UInt8, bytes: [UInt8], fin: Bool)], code: UInt16)] = [
                ("a continuation of nothing", [(0, text, true)], 1002),
                ("a message inside a fragmented one", [(1, text, false), (1, text, true)], 1002),
                ("fragments past 1 MiB together", [(1, big, false), (0, big, true)], 1009),
            ]
            for (name, frames, code) in broken {
                let closed = try await offThePool {
                    let socket = try StalledSocket(port: port)
                    for frame in frames { try? socket.send(opcode: frame.opcode, frame.bytes, fin: frame.fin) }
                    _ = socket.read(for: 3)
                    return socket.closeCode
                }
                #expect(closed == code, "\(name): closed with \(closed.map(String.init) ?? "nothing")")
            }
            // What RFC 6455 forbids a client, and a length no frame may have, sent with nothing behind it.
            let forbidden: [(name: String, bytes: [UInt8], code: UInt16)] = [
                ("an unmasked frame", [0x81, UInt8(text.count)] + text, 1002),
                ("a reserved bit", [0xC1, 0x80, 1, 2, 3, 4], 1002),
                ("a reserved opcode", [0x83, 0x80, 1, 2, 3, 4], 1002),
                ("a fragmented ping", [0x09, 0x80, 1, 2, 3, 4], 1002),
                ("a length of 2^64-1", [0x82, 0xFF] + Array(repeating: 0xFF, count: 8), 1009),
            ]
            for (name, bytes, code) in forbidden {
                let closed = try await offThePool {
                    let socket = try StalledSocket(port: port)
                    try? socket.sendRaw(bytes)
                    _ = socket.read(for: 3)
                    return (socket.closeCode, socket.endOfStream)
                }
                #expect(closed.0 == code, "\(name): closed with \(closed.0.map(String.init) ?? "nothing")")
                #expect(closed.1, "\(name): the connection ended")
            }
        }
    }

    /// A client that floods pings and never reads gets pongs only while its socket takes them:
    /// the edge answers a ping when the socket is writable (RFC 6455 lets it answer only the
    /// latest), so what it holds for that client stays bounded, as the kernel's send buffer is.
    /// Answering every one of 100,000 pings would put all 100,000 pongs (13 MB) through once the
    /// client reads (85,278 came when the check was taken out, and the heartbeat behind them did not).
    /// The pongs that come are those the edge wrote while the socket took them (its send buffer,
    /// 2 × 128 KB, and NIO's 64 KB before a channel is unwritable) and those of the pings still
    /// unread when the client begins to read (the client's send buffer, fixed here at 2 × 16 KB,
    /// and the edge's receive buffer, 2 × 64 KB): about 3,700 pongs of 131 bytes at most,
    /// whatever the timing. (With both buffers growing as the kernel likes, up to 36 MB of pings
    /// could still be unread then, and 50,619 pongs came once under load.)
    @Test func aPingFloodThatNeverReadsGetsBoundedPongs() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let port = c.edgePort
            let flood = 100_000
            let (pongs, acked) = try await offThePool { () -> (Int, Bool) in
                let socket = try StalledSocket(port: port, sendBuffer: 16 << 10)
                try socket.send(GatewayFrames.identify(alice))
                // Pings go 250 to a write. One write per ping made 100,000 tiny segments: on a
                // loaded machine the edge's receive queue had to prune them (the kernel's counters
                // showed prunes and retransmissions), and once in CI the flood stalled for three
                // minutes, past the heartbeat deadline. The edge still reads 100,000 pings.
                let ping = StalledSocket.frame(opcode: 9, Array(repeating: UInt8(ascii: "p"), count: 125))
                let batch = Array([[UInt8]](repeating: ping, count: 250).joined())
                // A gateway heartbeat every few thousand pings: on a slow machine the flood can
                // outlast the heartbeat deadline, and the edge would rightly end the session.
                for sent in stride(from: 0, to: flood, by: 250) {
                    if sent % 2_500 == 0 { try socket.send(#"{"op":1,"d":null}"#) }
                    try socket.sendRaw(batch)
                }
                var frames = socket.read(for: 3)
                while true {
                    let more = socket.read(for: 1)
                    if more.isEmpty { break }
                    frames += more
                }
                try socket.send(#"{"op":1,"d":null}"#)
                let acked = socket.read(for: 2).contains { $0["op"]?.intValue == 11 }
                return (socket.pongs.count, acked)
            }
            #expect(pongs > 0 && pongs < flood / 10, "\(pongs) pongs for \(flood) pings")
            #expect(acked, "the session still answers heartbeats after the flood")
        }
    }
}
