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

    init(_ event: OutboxEvent) {
        let e = event.event
        self.event = event
        direct = e.guildID == nil && e.channelID != nil
        needs = GatewaySession.neededIntent(for: e.type, direct: direct)
        visibility = VisibilityEvent(e)
        rule = MessageContentRule(type: e.type, payload: e.payload)
        facts = MessageFacts(payload: e.payload)
    }
}

/// One event as a session is given it: its type and data (maybe compacted for the session's
/// subscription level, or with content blanked), where it came from, the intent it needs, and
/// what it means to channel visibility (judged when its turn comes in the session's stream).
struct Delivery: Sendable {
    let type: String
    let data: String
    let origin: EventOrigin
    let needs: Intents?
    let visibility: VisibilityEvent
}
