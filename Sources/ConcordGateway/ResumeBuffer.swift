/// The dispatches a session was sent, kept so a reconnecting client can RESUME and receive
/// exactly what it missed. Bounded by count; a client asking for more than is kept gets op 9.
public struct ResumeBuffer: Sendable {
    public let capacity: Int
    private var frames: [(seq: Int64, frame: String)] = []
    private var start = 0

    public init(capacity: Int = 1000) {
        self.capacity = capacity
    }

    public mutating func append(seq: Int64, frame: String) {
        if frames.count - start >= capacity { start += 1 }
        frames.append((seq, frame))
        if start > capacity { frames.removeFirst(start); start = 0 }
    }

    public var lastSeq: Int64? { frames.last?.seq }

    /// The frames after `seq`, in order; nil if some of them are no longer kept (or `seq` is
    /// ahead of what was sent).
    public func replay(after seq: Int64) -> [String]? {
        let kept = frames[start...]
        guard let last = kept.last?.seq else { return seq == 0 ? [] : nil }
        if seq == last { return [] }
        guard seq < last, let first = kept.first?.seq, seq >= first - 1 else { return nil }
        return kept.filter { $0.seq > seq }.map(\.frame)
    }
}
