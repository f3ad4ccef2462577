/// Wakes the outbox publisher right after a commit instead of waiting for its next poll.
/// Wakes coalesce: many commits while the publisher is busy cause one more pass.
public struct OutboxSignal: Sendable {
    let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public func wake() { continuation.yield() }
}
