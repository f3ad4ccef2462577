/// The dispatches a session was sent, kept so a reconnecting client can RESUME and receive
/// exactly what it missed. Bounded by count and by bytes (a client that never acknowledges
/// must not make its edge keep everything); a client asking for more than is kept gets op 9.
public struct ResumeBuffer: Sendable {
    public let capacity: Int
    public let byteCapacity: Int
    /// A frame as it was sent: a dispatch of this edge's (its data shared with every other
    /// session it went to), or the text of one another edge handed over.
    private enum Kept: Sendable {
        case dispatch(Dispatch)
        case text(String)

        var frame: String {
            switch self {
            case .dispatch(let d): d.frame
            case .text(let t): t
            }
        }

        var byteCount: Int {
            switch self {
            case .dispatch(let d): d.byteCount
            case .text(let t): t.utf8.count
            }
        }
    }
    private var frames: [(seq: Int64, kept: Kept)] = []
    private var start = 0
    /// The UTF-8 bytes of the frames from `start` on.
    public private(set) var keptBytes = 0
    /// The sequence of the last frame sent, kept or not.
    public private(set) var lastSeq: Int64 = 0

    /// A heartbeat interval's worth of a busy session's traffic (acks arrive with heartbeats).
    public static let defaultByteCapacity = 2 << 20

    public init(capacity: Int = 1000, byteCapacity: Int = ResumeBuffer.defaultByteCapacity) {
        self.capacity = capacity
        self.byteCapacity = byteCapacity
    }

    /// A buffer handed over by another edge: the frames it kept and the last sequence it sent.
    public init(capacity: Int = 1000, byteCapacity: Int = ResumeBuffer.defaultByteCapacity, kept: [KeptFrame], lastSeq: Int64) {
        self.init(capacity: capacity, byteCapacity: byteCapacity)
        for entry in kept.suffix(capacity) { append(seq: entry.seq, frame: entry.frame) }
        self.lastSeq = max(self.lastSeq, lastSeq)
    }

    public mutating func append(seq: Int64, frame: String) { append(seq, .text(frame)) }

    public mutating func append(_ dispatch: Dispatch) { append(dispatch.seq, .dispatch(dispatch)) }

    /// A dispatch sent but never replayed: READY (a client able to resume has received it, since
    /// it names the session). It is the first, so nothing before it is missing either.
    public mutating func sentOnly(_ dispatch: Dispatch) {
        lastSeq = dispatch.seq
    }

    private mutating func append(_ seq: Int64, _ kept: Kept) {
        frames.append((seq, kept))
        keptBytes += kept.byteCount
        lastSeq = seq
        while frames.count - start > capacity || (keptBytes > byteCapacity && start < frames.count) {
            keptBytes -= frames[start].kept.byteCount
            start += 1
        }
        if start > capacity { frames.removeFirst(start); start = 0 }
    }

    /// Forgets the frames up to `seq`: the client has acknowledged them in a heartbeat and will
    /// never resume from before it.
    public mutating func drop(through seq: Int64) {
        while start < frames.count, frames[start].seq <= seq {
            keptBytes -= frames[start].kept.byteCount
            start += 1
        }
        if start > capacity / 2 { frames.removeFirst(start); start = 0 }
    }

    /// The kept frames, oldest first: what a draining edge hands over.
    public var kept: [KeptFrame] { frames[start...].map { KeptFrame(seq: $0.seq, frame: $0.kept.frame) } }

    /// The frames after `seq`, in order; nil if some of them are no longer kept (or `seq` is
    /// ahead of what was sent).
    public func replay(after seq: Int64) -> [String]? {
        if seq == lastSeq { return [] }
        let kept = frames[start...]
        guard seq < lastSeq, let first = kept.first?.seq, seq >= first - 1 else { return nil }
        return kept.filter { $0.seq > seq }.map(\.kept.frame)
    }
}

public struct KeptFrame: Codable, Sendable, Equatable {
    public var seq: Int64
    public var frame: String
}
