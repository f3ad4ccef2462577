import ConcordGateway
import ConcordModels

/// What the hub works out about a cell event once, before offering it to each session it
/// targets: whether it is a DM's, the intent it needs, what it changes of channel visibility,
/// and (on first use) its content blanked for bots without MESSAGE_CONTENT and its mentions.
struct RoutedEvent {
    let event: OutboxEvent
    /// A DM's event (gated by the DM intents; its content reaches bots without MESSAGE_CONTENT).
    let direct: Bool
    let needs: Intents?
    let visibility: VisibilityEvent
    var rule: MessageContentRule
    var facts: MessageFacts
    /// The event as most sessions get it, and (once a session needs it) with content blanked.
    let body: DispatchBody
    private var blanked: DispatchBody?

    init(_ event: OutboxEvent) {
        let e = event.event
        self.event = event
        direct = e.guildID == nil && e.channelID != nil
        needs = GatewaySession.neededIntent(for: e.type, direct: direct)
        visibility = VisibilityEvent(e)
        rule = MessageContentRule(type: e.type, payload: e.payload)
        facts = MessageFacts(payload: e.payload)
        body = DispatchBody(type: e.type, data: e.payload)
    }

    /// The event's body for one session. As Discord: a bot reads DMs without the MESSAGE_CONTENT
    /// intent, and a message's author and those it mentions read its content without it.
    mutating func body(for user: Snowflake?, isBot: Bool, intents: Intents) -> DispatchBody {
        guard !direct, let user, isBot, !intents.contains(.messageContent) else { return body }
        let data = rule.payload(for: user, isBot: isBot, intents: intents)
        if data == body.data { return body }
        if let blanked { return blanked }
        let made = DispatchBody(type: body.type, data: data)
        blanked = made
        return made
    }
}

extension RoutedEvent {
    /// The event as one session gets it at its subscription levels (nil: not at all). Called
    /// under the session's lock, with what the session is.
    mutating func delivery(origin: EventOrigin, levels: inout SubscriptionLevels, user: Snowflake?, isBot: Bool, intents: Intents) -> Delivery? {
        let e = event.event
        switch levels.outcome(type: e.type, guild: e.guildID, channel: e.channelID, seq: event.seq, user: user, facts: &facts) {
        case .drop: return nil
        case .replace(let compactType, let compactData):
            return Delivery(body: DispatchBody(type: compactType, data: compactData), origin: origin,
                            needs: GatewaySession.neededIntent(for: compactType, direct: direct), visibility: visibility)
        case .deliver:
            return Delivery(body: body(for: user, isBot: isBot, intents: intents), origin: origin, needs: needs, visibility: visibility)
        }
    }
}

/// One event as a session is given it: its type and data (maybe compacted for the session's
/// subscription level, or with content blanked), where it came from, the intent it needs, and
/// what it means to channel visibility (judged when its turn comes in the session's stream).
struct Delivery: Sendable {
    let body: DispatchBody
    let origin: EventOrigin
    let needs: Intents?
    let visibility: VisibilityEvent
}
