@testable import ConcordEdge
@testable import ConcordGateway
import ConcordModels
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

    @Test func aDirectMessageReachesBotsWithItsContent() {
        var routed = RoutedEvent(OutboxEvent(seq: 1, event: PendingEvent(type: "MESSAGE_CREATE", guildID: nil, channelID: Snowflake(8),
                                                                         payload: message)))
        #expect(routed.direct && routed.needs == .directMessages)
        #expect(routed.body(for: Snowflake(3), isBot: true, intents: .directMessages) === routed.body)
    }
}
