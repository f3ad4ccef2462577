import ConcordModels
import Foundation
import Testing

@Suite("Validation and error shapes")
struct ValidationTests {
    func formErrors(_ body: () throws -> Void) -> APIError? {
        do { try body(); return nil } catch let e as APIError { return e } catch { return nil }
    }

    @Test func messageLimits() {
        #expect(formErrors { try Validation.validate(MessageCreateRequest(content: String(repeating: "a", count: 2000))) } == nil)
        #expect(formErrors { try Validation.validate(MessageCreateRequest(content: String(repeating: "a", count: 2001))) }?.code == 50035)
        #expect(formErrors { try Validation.validate(MessageCreateRequest(content: "  ")) } == .emptyMessage)
        #expect(formErrors { try Validation.validate(MessageCreateRequest(embeds: [Embed(title: "x")])) } == nil)
        #expect(formErrors { try Validation.validate(MessageCreateRequest(embeds: Array(repeating: Embed(title: "x"), count: 11))) }?.code == 50035)
        #expect(formErrors { try Validation.validate(MessageCreateRequest(content: "x", nonce: .string(String(repeating: "n", count: 26)))) }?.code == 50035)
        #expect(formErrors { try Validation.validate(MessageCreateRequest(content: "x", nonce: .int(12))) } == nil)
        let big = Embed(title: nil, description: String(repeating: "d", count: 4000), fields: [.init(name: "n", value: String(repeating: "v", count: 1024), inline: nil), .init(name: "n", value: String(repeating: "v", count: 1024), inline: nil)])
        #expect(formErrors { try Validation.validate(MessageCreateRequest(embeds: [big])) }?.errors?.entries.first?.code == "MESSAGE_EMBED_TOO_LONG")
    }

    @Test func errorBodiesNestLikeDiscords() throws {
        var errors = FormErrors()
        errors.add(["embeds", "0", "title"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be 256 or fewer in length.")
        errors.add(["content"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be 2000 or fewer in length.")
        let json = try WireJSON.decode(JSONValue.self, from: APIError.invalidForm(errors).jsonBody())
        #expect(json["code"] == .int(50035))
        #expect(json["message"] == .string("Invalid Form Body"))
        #expect(json["errors"]?["embeds"]?["0"]?["title"]?["_errors"]?.arrayValue?.first?["code"] == .int(50035))
        #expect(json["errors"]?["embeds"]?["0"]?["title"]?["_errors"]?.arrayValue?.first?["message"] == .string("Must be 256 or fewer in length."))
        #expect(json["errors"]?["content"]?["_errors"]?.arrayValue?.count == 1)
        let limited = try WireJSON.decode(JSONValue.self, from: APIError.rateLimited(retryAfter: 1.5, global: false).jsonBody())
        #expect(limited["retry_after"] == .double(1.5))
    }

    @Test func bodiesDecodeIntoFormErrors() {
        #expect(formErrors { _ = try WireJSON.decodeBody(MessageCreateRequest.self, from: Data(#"{"content":5}"#.utf8)) }?.errors?.entries.first?.path == ["content"])
        #expect(formErrors { _ = try WireJSON.decodeBody(MessageCreateRequest.self, from: Data("{".utf8)) }?.status == 400)
        #expect(formErrors { _ = try WireJSON.decodeBody(MessageCreateRequest.self, from: Data()) } == .invalidJSON)
    }

    @Test func patchBodiesTellAbsentFromNull() throws {
        let edit = try WireJSON.decode(MessageEditRequest.self, from: Data(#"{"content":null,"flags":4}"#.utf8))
        #expect(edit.content == .null)
        #expect(edit.embeds == .absent)
        #expect(edit.flags == .value(4))
    }

    @Test func mentionsAreParsed() {
        #expect(Mentions.userIDs(in: "hi <@123> and <@!456>, <@123> again, <@abc> <@789") == [Snowflake(123), Snowflake(456)])
        #expect(Mentions.mentionsEveryone("ping @here"))
        #expect(!Mentions.mentionsEveryone("no one"))
    }

    @Test func channelNamesAreNormalized() {
        #expect(Validation.normalizedChannelName("Release  Plans", type: .guildText) == "release-plans")
        #expect(Validation.normalizedChannelName("Text Channels", type: .guildCategory) == "Text Channels")
    }
}

@Suite("Wire shapes")
struct WireShapeTests {
    @Test func nullableScalarsAreSentAsNullAndAbsentObjectsAreLeftOut() throws {
        let user = User(id: Snowflake(1), username: "a", globalName: nil, bot: false)
        let json = try WireJSON.decode(JSONValue.self, from: WireJSON.encode(user))
        #expect(json["avatar"] == .null)
        #expect(json["global_name"] == .null)
        let message = Message(id: Snowflake(5 << 22), channelID: Snowflake(2), guildID: Snowflake(3), author: user, member: nil,
                              content: "x", editedTimestamp: nil, tts: false, mentionEveryone: false, mentions: [], embeds: [],
                              components: [], nonce: nil, pinned: false, type: .normal, flags: 0, reference: nil, referencedMessage: nil)
        let m = try WireJSON.decode(JSONValue.self, from: WireJSON.encode(message))
        #expect(m["edited_timestamp"] == .null)
        #expect(m["member"] == nil)
        #expect(m["message_reference"] == nil)
        #expect(m["referenced_message"] == nil)
    }
}
