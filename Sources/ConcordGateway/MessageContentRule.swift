import ConcordModels
import Foundation

/// Discord's MESSAGE_CONTENT rule: a bot without the intent receives messages with empty
/// content, embeds, attachments and components, except its own messages and those that
/// mention it. The event is parsed once and the blanked copy shared by every bot that needs it.
public struct MessageContentRule: Sendable {
    let type: String
    let payload: String
    private var parsed: JSONValue?
    private var blanked: String?

    public init(type: String, payload: String) {
        self.type = type
        self.payload = payload
    }

    public mutating func payload(for user: Snowflake, isBot: Bool, intents: Intents) -> String {
        guard isBot, !intents.contains(.messageContent), type == "MESSAGE_CREATE" || type == "MESSAGE_UPDATE" else { return payload }
        if parsed == nil { parsed = try? WireJSON.decode(JSONValue.self, from: Data(payload.utf8)) }
        guard case .object(var message)? = parsed else { return payload }
        let me = JSONValue.string(user.description)
        if message["author"]?["id"] == me { return payload }
        if message["mentions"]?.arrayValue?.contains(where: { $0["id"] == me }) == true { return payload }
        if let blanked { return blanked }
        message["content"] = .string("")
        message["embeds"] = .array([])
        message["attachments"] = .array([])
        message["components"] = .array([])
        blanked = (try? WireJSON.encodeString(JSONValue.object(message))) ?? payload
        return blanked!
    }
}
