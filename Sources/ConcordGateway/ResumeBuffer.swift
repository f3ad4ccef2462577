/// The dispatches a session was sent, kept so a reconnecting client can RESUME and receive
/// exactly what it missed. Bounded by count and by bytes (a client that never acknowledges
/// must not make its edge keep everything); a client asking for more than is kept gets op 9.
public struct ResumeBuffer: Sendable {
    public let capacity: Int
    public let byteCapacity: Int
    /// The frames as they were sent: a dispatch of this edge's by its body (shared with every
    /// other session it went to), or the whole text of one another edge handed over. Each kept
    /// frame costs a session 16 bytes, whatever its size.
    private var frames: [(seq: Int64, body: DispatchBody)] = []
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

    public mutating func append(seq: Int64, frame: String) { append(seq, DispatchBody(wholeFrame: frame)) }

    public mutating func append(_ dispatch: Dispatch) { append(dispatch.seq, dispatch.body) }

    /// A dispatch sent but never replayed: READY (a client able to resume has received it, since
    /// it names the session). It is the first, so nothing before it is missing either.
    public mutating func sentOnly(_ dispatch: Dispatch) {
        lastSeq = dispatch.seq
    }

    private static func frame(_ seq: Int64, _ body: DispatchBody) -> String {
        body.isWholeFrame ? body.data : Dispatch(seq: seq, body: body).frame
    }

    private static func byteCount(_ seq: Int64, _ body: DispatchBody) -> Int {
        body.isWholeFrame ? body.data.utf8.count : Dispatch(seq: seq, body: body).byteCount
    }

    private mutating func append(_ seq: Int64, _ body: DispatchBody) {
        // Frames let go are removed before the array would grow, so its storage stays the size
        // `capacity` needs (a session of a busy channel holds a full buffer for its lifetime).
        if start > 0, frames.count == frames.capacity { frames.removeFirst(start); start = 0 }
        frames.append((seq, body))
        keptBytes += Self.byteCount(seq, body)
        lastSeq = seq
        while frames.count - start > capacity || (keptBytes > byteCapacity && start < frames.count) {
            keptBytes -= Self.byteCount(frames[start].seq, frames[start].body)
            start += 1
        }
        if start > capacity { frames.removeFirst(start); start = 0 }
    }

    /// Forgets the frames up to `seq`: the client has acknowledged them in a heartbeat and will
    /// never resume from before it.
    public mutating func drop(through seq: Int64) {
        while start < frames.count, frames[start].seq <= seq {
            keptBytes -= Self.byteCount(frames[start].seq, frames[start].body)
            start += 1
        }
        // Everything acknowledged (an idle session after its first heartbeat): the bodies go
        // now, not after hundreds more frames; a session's own GUILD_CREATEs are kilobytes each.
        if start == frames.count { frames.removeAll(keepingCapacity: true); start = 0 }
        if start > capacity / 2 { frames.removeFirst(start); start = 0 }
    }

    /// How many frames the buffer's storage has room for (kept or let go, not yet removed).
    var storageCapacity: Int { frames.capacity }

    /// The kept frames, oldest first: what a draining edge hands over.
    public var kept: [KeptFrame] { frames[start...].map { KeptFrame(seq: $0.seq, frame: Self.frame($0.seq, $0.body)) } }

    /// The frames after `seq`, in order; nil if some of them are no longer kept (or `seq` is
    /// ahead of what was sent).
    public func replay(after seq: Int64) -> [String]? {
        if seq == lastSeq { return [] }
        let kept = frames[start...]
        guard seq < lastSeq, let first = kept.first?.seq, seq >= first - 1 else { return nil }
        return kept.filter { $0.seq > seq }.map { Self.frame($0.seq, $0.body) }
    }
}

public struct KeptFrame: Codable, Sendable, Equatable {
    public var seq: Int64
    public var frame: String
}
