@testable import ConcordEdge
@testable import ConcordGateway
import ConcordModels
import NIOCore
import Testing

/// An event's text is made once and shared by every session it goes to: the sessions' resume
/// buffers hold a reference to it, not a copy, and a bot without MESSAGE_CONTENT gets the one
/// blanked copy the event made for all such bots.
@Suite("Shared dispatch bodies")
struct SharedDispatchBodyTests {
    let message = #"{"id":"9","content":"secret","embeds":[],"author":{"id":"1"},"mentions":[{"id":"2"}],"components":[]}"#

    @Test func sessionsShareOneBodyAndBotsWithoutTheIntentShareOneBlankedBody() throws {
        var routed = RoutedEvent(OutboxEvent(seq: 5, event: PendingEvent(type: "MESSAGE_CREATE", guildID: Snowflake(7), channelID: Snowflake(8),
                                                                         payload: message)))
        let person = routed.body(for: Snowflake(3), isBot: false, intents: .guildMessages)
        let reader = routed.body(for: Snowflake(4), isBot: true, intents: [.guildMessages, .messageContent])
        #expect(person === routed.body && reader === routed.body)
        #expect(routed.body(for: Snowflake(1), isBot: true, intents: .guildMessages) === routed.body, "the author reads its own message")
        #expect(routed.body(for: Snowflake(2), isBot: true, intents: .guildMessages) === routed.body, "a mentioned bot reads it")
        let blanked = routed.body(for: Snowflake(3), isBot: true, intents: .guildMessages)
        #expect(blanked !== routed.body && blanked.type == "MESSAGE_CREATE")
        #expect(try WireJSON.decode(JSONValue.self, from: .init(blanked.data.utf8))["content"] == .string(""))
        #expect(routed.body(for: Snowflake(6), isBot: true, intents: .guildMessages) === blanked, "one blanked copy for every such bot")

        // Two sessions' buffers keep the same body, each replaying it under its own number.
        var first = ResumeBuffer(capacity: 10), second = ResumeBuffer(capacity: 10)
        first.append(Dispatch(seq: 3, body: routed.body))
        second.append(Dispatch(seq: 41, body: routed.body))
        #expect(first.replay(after: 2) == [ServerFrame.dispatch("MESSAGE_CREATE", seq: 3, data: message)])
        #expect(second.replay(after: 40) == [ServerFrame.dispatch("MESSAGE_CREATE", seq: 41, data: message)])
        #expect(first.keptBytes == ServerFrame.dispatch("MESSAGE_CREATE", seq: 3, data: message).utf8.count)
    }

    @Test func aFullBufferKeepsItsStorageWhateverItsSessionReceives() {
        var buffer = ResumeBuffer(capacity: 100)
        let body = DispatchBody(type: "MESSAGE_CREATE", data: message)
        for seq in Int64(1)...10_000 { buffer.append(Dispatch(seq: seq, body: body)) }
        #expect(buffer.replay(after: 9_900)?.count == 100)
        #expect(buffer.replay(after: 9_899) == nil)
        #expect(buffer.storageCapacity < 200, "storage for \(buffer.storageCapacity) frames")
    }

    @Test func membersGUILDCREATEsShareTheirWorkspacesPartAndAreWrittenWhole() throws {
        let guild = Guild(id: Snowflake(1000), name: "w", description: nil, ownerID: Snowflake(1), systemChannelID: Snowflake(2001))
        let channel = GuildChannel(id: Snowflake(2001), type: .guildText, guildID: guild.id, name: "general", topic: nil, position: 0,
                                   parentID: nil, nsfw: false, lastMessageID: nil)
        let encodings = GuildCreateEncodings()
        let bodies = try [Snowflake(2), Snowflake(3)].map { id in
            var payload = GuildCreatePayload(guild: guild, channels: [channel], members: [], memberCount: 900, joinedAt: nil, large: true)
            payload.presences = [.object(["user": .object(["id": .string(id.description)])])]
            return (payload, try encodings.body(payload))
        }
        func storage(_ text: String) -> UnsafeRawPointer? { text.utf8.withContiguousStorageIfAvailable { UnsafeRawPointer($0.baseAddress) } ?? nil }
        #expect(storage(bodies[0].1.head) != nil && storage(bodies[0].1.head) == storage(bodies[1].1.head), "one workspace part for both")
        for (seq, (payload, body)) in bodies.enumerated() {
            let dispatch = Dispatch(seq: Int64(seq + 2), body: body)
            // Written into a socket's buffer and replayed after a RESUME: one whole frame either way.
            var bytes = ByteBuffer()
            WebSocketFrameBytes.append(dispatch, to: &bytes)
            let written = String(decoding: bytes.readableBytesView.dropFirst(bytes.readableBytes - dispatch.byteCount), as: UTF8.self)
            var kept = ResumeBuffer(capacity: 10)
            kept.append(dispatch)
            #expect(kept.replay(after: Int64(seq + 1)) == [written])
            #expect(written == dispatch.frame && kept.keptBytes == written.utf8.count)
            let frame = try WireJSON.decode(JSONValue.self, from: .init(written.utf8))
            #expect(frame["d"] == (try WireJSON.decode(JSONValue.self, from: WireJSON.encode(payload))))
        }
    }

    @Test func aDirectMessageReachesBotsWithItsContent() {
        var routed = RoutedEvent(OutboxEvent(seq: 1, event: PendingEvent(type: "MESSAGE_CREATE", guildID: nil, channelID: Snowflake(8),
                                                                         payload: message)))
        #expect(routed.direct && routed.needs == .directMessages)
        #expect(routed.body(for: Snowflake(3), isBot: true, intents: .directMessages) === routed.body)
    }
}
