@testable import ConcordCell
@testable import ConcordModels
import Foundation
import Testing

/// `Message.wireJSON` writes messages without Foundation's encoder; every byte must be the
/// encoder's, for messages with every optional part present or absent and text of every kind.
@Suite("Message JSON")
struct MessageJSONTests {
    static let awkward = ["", "plain", "quote \" and \\ backslash", "a/b </script>", "tab\tnew\nline\r", "\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}\u{7f}",
                          "é ✓ 🎉 \u{2028}\u{2029}", "{\"json\":[1,2]}", String(repeating: "x", count: 3000)]

    func text() -> String { Self.awkward.randomElement()! + (Bool.random() ? "" : Self.awkward.randomElement()!) }
    func maybe<T>(_ value: @autoclosure () -> T) -> T? { Bool.random() ? value() : nil }
    func id() -> Snowflake { Snowflake(UInt64.random(in: 0...UInt64(Int64.max))) }

    func user() -> User {
        var user = User(id: id(), username: text(), globalName: maybe(text()), bot: Bool.random())
        user.avatar = maybe(text())
        user.system = Bool.random()
        user.public_flags = Int.random(in: 0...1 << 20)
        user.flags = Int.random(in: -5...5)
        return user
    }

    func member(withUser: Bool) -> Member {
        var member = Member(user: withUser ? user() : nil, nick: maybe(text()), joinedAt: DiscordTimestamp.string(from: id()))
        member.avatar = maybe(text())
        member.roles = (0..<Int.random(in: 0...3)).map { _ in id() }
        member.premium_since = maybe(text())
        member.deaf = Bool.random(); member.mute = Bool.random(); member.pending = Bool.random()
        member.flags = Int.random(in: 0...9)
        member.communication_disabled_until = maybe(text())
        member.banner = maybe(text())
        return member
    }

    func message(depth: Int = 0) throws -> Message {
        let nonce: JSONValue? = [nil, .string(text()), .int(Int64.random(in: Int64.min...Int64.max)), .bool(true), .double(1.5), .null].randomElement()!
        var message = Message(
            id: id(), channelID: id(), guildID: maybe(id()), author: user(), member: maybe(member(withUser: Bool.random())), content: text(),
            editedTimestamp: maybe(DiscordTimestamp.string(from: id())), tts: Bool.random(), mentionEveryone: Bool.random(),
            mentions: (0..<Int.random(in: 0...3)).map { _ in MentionedUser(user: user(), member: maybe(member(withUser: false))) },
            embeds: Bool.random() ? [] : try WireJSON.decode([Embed].self, from: Data(#"[{"title":"t/\"","description":"d","fields":[{"name":"n","value":"v"}]}]"#.utf8)),
            components: Bool.random() ? [] : [.object(["type": .int(1), "components": .array([.object(["label": .string(text())])])])],
            nonce: nonce, pinned: Bool.random(), type: [.normal, .reply, .channelPinnedMessage].randomElement()!, flags: Int.random(in: 0...64),
            reference: maybe(MessageReference(messageID: id(), channelID: id(), guildID: maybe(id()))),
            referencedMessage: depth == 0 && Bool.random() ? try message(depth: 1) : nil)
        message.mention_roles = (0..<Int.random(in: 0...2)).map { _ in id() }
        if Bool.random() {
            message.attachments = [Attachment(id: id(), filename: text(), description: maybe(text()), contentType: maybe("image/png"), size: 5,
                                              url: "https://x/y", width: maybe(3), height: maybe(4))]
        }
        if Bool.random() {
            message.reactions = try WireJSON.decode([Reaction].self, from: Data(
                #"[{"count":2,"count_details":{"burst":0,"normal":2},"me":true,"me_burst":false,"burst_colors":[],"emoji":{"id":null,"name":"👍"}}]"#.utf8))
        }
        return message
    }

    @Test func writesTheEncodersBytes() throws {
        for _ in 0..<500 {
            let message = try message()
            let expected = String(decoding: try WireJSON.encoder().encode(message), as: UTF8.self)
            let written = String(decoding: try message.wireJSON(), as: UTF8.self)
            if written != expected {
                // Where they part, rather than two long texts.
                let at = zip(written.utf8, expected.utf8).prefix { $0 == $1 }.count
                Issue.record("differs at \(at): \(String(decoding: Array(written.utf8.dropFirst(max(0, at - 80)).prefix(160)), as: UTF8.self)) / encoder: \(String(decoding: Array(expected.utf8.dropFirst(max(0, at - 80)).prefix(160)), as: UTF8.self))")
                break
            }
        }
    }

    /// READY and GUILD_CREATE's own part are written without the encoder too (every IDENTIFY).
    @Test func readyAndGuildCreatesOwnPartWriteTheEncodersBytes() throws {
        func same(_ written: String, _ expected: String) -> Bool {
            guard written != expected else { return true }
            let at = zip(written.utf8, expected.utf8).prefix { $0 == $1 }.count
            Issue.record("differs at \(at): \(String(decoding: Array(written.utf8.dropFirst(max(0, at - 80)).prefix(160)), as: UTF8.self)) / encoder: \(String(decoding: Array(expected.utf8.dropFirst(max(0, at - 80)).prefix(160)), as: UTF8.self))")
            return false
        }
        let guild = Guild(id: id(), name: "w", description: nil, ownerID: id(), systemChannelID: nil)
        for _ in 0..<300 {
            let entries = (0..<Int.random(in: 0...3)).map { _ in
                var entry = ReadStateEntry(channelID: id(), lastMessageID: id(), mentionCount: Int.random(in: 0...9), unreadCount: Int.random(in: 0...99))
                entry.last_pin_timestamp = maybe(DiscordTimestamp.string(from: id()))
                return entry
            }
            let dms = (0..<Int.random(in: 0...2)).map { _ in DMChannel(id: id(), lastMessageID: maybe(id()), recipients: [user()]) }
            let ready = ReadyPayload(user: user(), guilds: (0..<Int.random(in: 0...3)).map { _ in id() }, sessionID: text(), resumeURL: "ws://x/gateway",
                                     bot: Bool.random(), privateChannels: dms, readStates: entries)
            guard same(try ready.wireJSON(), try WireJSON.encodeString(ready)) else { break }
            var payload = GuildCreatePayload(guild: guild, channels: [], members: (0..<Int.random(in: 0...3)).map { _ in member(withUser: Bool.random()) },
                                             memberCount: 9, joinedAt: maybe(DiscordTimestamp.string(from: id())), large: Bool.random())
            payload.presences = Bool.random() ? [] : [.object(["user": .object(["id": .string(text())]), "status": .string("online")])]
            guard same(try payload.own.wireJSON(), try WireJSON.encodeString(payload.own)) else { break }
        }
    }

    /// States as a cell's batch READY reads them: a few workspaces shared by some, members with
    /// their own members and presences, read states and DMs; some sessions refused (nil).
    func readyStates(guilds: [Guild]) -> [ReadyState?] {
        (0..<Int.random(in: 0...6)).map { _ in
            guard Int.random(in: 0..<5) > 0 else { return nil }
            let entries = (0..<Int.random(in: 0...3)).map { _ in
                var entry = ReadStateEntry(channelID: id(), lastMessageID: id(), mentionCount: Int.random(in: 0...9), unreadCount: Int.random(in: 0...99))
                entry.last_pin_timestamp = maybe(DiscordTimestamp.string(from: id()))
                return entry
            }
            let payloads = guilds.filter { _ in Bool.random() }.map { guild in
                var payload = GuildCreatePayload(guild: guild, channels: [], members: Bool.random() ? [] : [member(withUser: Bool.random())],
                                                 memberCount: 9, joinedAt: maybe(DiscordTimestamp.string(from: id())), large: Bool.random())
                payload.presences = Bool.random() ? [] : [.object(["user": .object(["id": .string(text())]), "status": .string("online")])]
                return payload
            }
            return ReadyState(user: user(), guilds: payloads, outboxSeq: Int64.random(in: 0...Int64.max), readStates: entries,
                              privateChannels: (0..<Int.random(in: 0...2)).map { _ in DMChannel(id: id(), lastMessageID: maybe(id()), recipients: [user()]) })
        }
    }

    @Test func readyBatchesWriteTheEncodersBytes() throws {
        let guilds = (0..<3).map { _ in Guild(id: id(), name: text(), description: maybe(text()), ownerID: id(), systemChannelID: maybe(id())) }
        for _ in 0..<200 {
            let states = readyStates(guilds: guilds)
            let batch = ReadyBatch(states)
            let written = try batch.wireJSON()
            let expected = Array(try WireJSON.encode(batch))
            guard written == expected else {
                let at = zip(written, expected).prefix { $0 == $1 }.count
                Issue.record("differs at \(at): \(String(decoding: written.dropFirst(max(0, at - 80)).prefix(160), as: UTF8.self)) / encoder: \(String(decoding: expected.dropFirst(max(0, at - 80)).prefix(160), as: UTF8.self))")
                break
            }
            #expect(try WireJSON.decode(ReadyBatch.self, from: Data(written)).readyStates() == states)
        }
    }

    @Test func readyBatchesReadAsTheDecoderReadsThem() throws {
        let guilds = (0..<3).map { _ in Guild(id: id(), name: text(), description: maybe(text()), ownerID: id(), systemChannelID: maybe(id())) }
        for _ in 0..<200 {
            let states = readyStates(guilds: guilds)
            let written = try ReadyBatch(states).wireJSON()
            // What a cell writes is read by hand, to the same states.
            var reader = JSONReader(written)
            let batch = try ReadyBatch(reading: &reader)
            #expect(try batch.readyStates() == states)
            let atEnd = reader.atEnd()
            #expect(atEnd)
        }
        // Every other form, read by hand or handed to the decoder, comes out as the decoder reads it.
        let written = String(decoding: try ReadyBatch(readyStates(guilds: guilds).compactMap { $0 } + [ReadyState(user: user(), guilds: [], outboxSeq: 1)]).wireJSON(), as: UTF8.self)
        let member = #"{"deaf":false,"flags":0,"joined_at":"2020-01-01T00:00:00+00:00","mute":false,"pending":false,"roles":["1"]}"#
        let state = #"{"guilds":[{"workspace":0,"members":[MEMBER]}],"outboxSeq":5,"privateChannels":[],"readStates":[],"user":{"bot":false,"discriminator":"0","flags":0,"id":"7","public_flags":0,"system":false,"username":"u"}}"#
        var texts = [written, " " + written + "\n", written + "x", String(written.dropLast()), "", "{}", #"{"states":[],"workspaces":[]}"#,
                     #"{"states":[null],"workspaces":[],"extra":{"a":[1,2.5e3,-0,true,null,"\u00e9"]}}"#]
        for variant in [member, member.replacingOccurrences(of: #""flags":0"#, with: #""flags":0.0"#),
                        member.replacingOccurrences(of: #""flags":0"#, with: #""flags":01"#),
                        member.replacingOccurrences(of: #""roles":["1"]"#, with: #""roles":[1]"#),
                        member.replacingOccurrences(of: #""roles":["1"]"#, with: #""roles":["18446744073709551615"]"#),
                        member.replacingOccurrences(of: #""mute":false"#, with: #""mute":false,"mute":true"#),
                        member.replacingOccurrences(of: #""mute":false"#, with: #""m\u0075te":true"#),
                        member.replacingOccurrences(of: #""deaf":false,"#, with: ""),
                        member.replacingOccurrences(of: #""joined_at":"2020"#, with: #""nick":"a\"\\\/\b\f\n\r\t\u0041\ud83c\udf89","user":null,"joined_at":"2020"#),
                        member.replacingOccurrences(of: #""joined_at":"2020"#, with: #""nick":"\ud83c","joined_at":"2020"#),
                        member.replacingOccurrences(of: #""joined_at":"2020"#, with: #""nick":"\u00zz","joined_at":"2020"#),
                        member.replacingOccurrences(of: #"{"deaf""#, with: #"{ "deaf" : "#).replacingOccurrences(of: ":false,", with: ": false ,")] {
            texts.append(#"{"states":["# + state.replacingOccurrences(of: "MEMBER", with: variant) + #"],"workspaces":[]}"#)
        }
        for text in texts {
            let reference = try? WireJSON.decode(ReadyBatch.self, from: Data(text.utf8)).readyStates()
            let read = try? ReadyBatch.read(Data(text.utf8)).readyStates()
            #expect(read == reference, "\(text.prefix(300))")
        }
    }

    @Test func presenceUpdatesWriteTheEncodersBytes() throws {
        for _ in 0..<300 {
            let state = PresenceState(status: PresenceStatus.allCases.randomElement()!, customStatus: maybe(text()))
            let payload = PresenceUpdatePayload(userID: id(), guildID: maybe(id()), state: state)
            let expected = try WireJSON.encode(payload)
            #expect(payload.wireJSON() == String(decoding: expected, as: UTF8.self))
            #expect(payload.jsonValue == (try WireJSON.decode(JSONValue.self, from: expected)))
            #expect(PresenceUpdatePayload.userID(inPayload: payload.wireJSON()) == payload.user.id)
        }
        // Written otherwise (spaces, escapes, an id as a number): as the decoder reads it, or none.
        for text in [#"{ "user" : { "id" : "5" } , "status":"online","activities":[],"client_status":{"web":null},"guild_id":null}"#,
                     #"{"user":{"id":5},"status":"online","activities":[],"client_status":{"web":null},"guild_id":null}"#,
                     #"{"u\u0073er":{"id":"6"},"status":"online","activities":[],"client_status":{},"guild_id":"1"}"#,
                     #"{"user":{"id":"x"}}"#, #"{"user":{}}"#, "", "[]"] {
            let decoded = try? WireJSON.decode(PresenceUpdatePayload.self, from: Data(text.utf8))
            #expect(PresenceUpdatePayload.userID(inPayload: text) == decoded?.user.id, "\(text)")
        }
    }

    @Test func arraysAreEncodedOrEmpty() throws {
        #expect(try WireJSON.encodeString([Embed]()) == "[]")
        #expect(try WireJSON.encodeString([JSONValue.int(1), .string("a/b")]) == #"[1,"a/b"]"#)
    }
}

/// What a stored message's JSON columns read back as, through the shortcuts and without.
@Suite("Stored message parts")
struct StoredMessagePartsTests {
    @Test func noncesReadAsTheDecoderReadsThem() throws {
        for json in [#""plain-1""#, #""""#, #""with \"quote\"""#, #""tab\t""#, #""é🎉""#, "12345", "-7", "true", "1.5", "null", #""123""#] {
            #expect(Presenter.storedNonce(json) == (try WireJSON.decode(JSONValue.self, from: Data(json.utf8))), "\(json)")
        }
    }

    @Test func emptyArraysNeedNoDecoder() {
        #expect(Presenter.stored([Embed].self, "[]").isEmpty)
        #expect(Presenter.stored([JSONValue].self, #"[1,"a"]"#) == [.int(1), .string("a")])
        #expect(Presenter.stored([JSONValue].self, "not json").isEmpty)
    }
}
