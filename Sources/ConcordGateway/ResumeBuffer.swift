/// The dispatches a session was sent, kept so a reconnecting client can RESUME and receive
/// exactly what it missed. Bounded by count and by bytes (a client that never acknowledges
/// must not make its edge keep everything); a client asking for more than is kept gets op 9.
public struct ResumeBuffer: Sendable {
    public let capacity: Int
    public let byteCapacity: Int
    /// The frames as they were sent: a dispatch of this edge's by its body (shared with every
    /// other session it went to), or the whole text of one another edge handed over. A session
    /// numbers its frames one after another, so only the first one's number is kept: each kept
    /// frame costs a session 8 bytes, whatever its size (a full buffer, 8 KB).
    private var bodies: [DispatchBody] = []
    /// The sequence of `bodies[0]`.
    private var firstSeq: Int64 = 0
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
        // Only numbers the session can have sent (the record is Redis's word for it).
        for entry in kept.suffix(capacity) where entry.seq >= 1 && entry.seq <= lastSeq { append(seq: entry.seq, frame: entry.frame) }
        self.lastSeq = max(self.lastSeq, lastSeq)
    }

    /// A buffer adopted from a drain's shared table: bodies numbered from `firstSeq`.
    public init(capacity: Int = 1000, byteCapacity: Int = ResumeBuffer.defaultByteCapacity, firstSeq: Int64, bodies: [DispatchBody], lastSeq: Int64) {
        self.init(capacity: capacity, byteCapacity: byteCapacity)
        // Only numbers the session can have sent, 1 through `lastSeq` (compared before any sum:
        // the record is Redis's word for them); otherwise nothing is kept and the client gets op 9.
        if firstSeq >= 1, lastSeq >= 0, Int64(bodies.count) <= lastSeq - firstSeq + 1 {
            let skipped = max(0, bodies.count - capacity)
            for (offset, body) in bodies.dropFirst(skipped).enumerated() { append(firstSeq + Int64(skipped + offset), body) }
        }
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
        body.isWholeFrame ? body.dataByteCount : Dispatch(seq: seq, body: body).byteCount
    }

    private func seq(at index: Int) -> Int64 { firstSeq + Int64(index) }

    private mutating func append(_ seq: Int64, _ body: DispatchBody) {
        // A number that does not follow the last kept frame's (a session never skips one but
        // READY's, its first): what was kept before cannot be replayed in order with it, so
        // it goes, and a client resuming from there gets op 9.
        if !bodies.isEmpty, seq != self.seq(at: bodies.count) { bodies.removeAll(keepingCapacity: true); start = 0; keptBytes = 0 }
        if bodies.isEmpty { firstSeq = seq }
        // Frames let go are removed before the array would grow, so its storage stays the size
        // `capacity` needs (a session of a busy channel holds a full buffer for its lifetime).
        if start > 0, bodies.count == bodies.capacity { removeLetGo() }
        bodies.append(body)
        keptBytes += Self.byteCount(seq, body)
        lastSeq = seq
        while bodies.count - start > capacity || (keptBytes > byteCapacity && start < bodies.count) {
            keptBytes -= Self.byteCount(self.seq(at: start), bodies[start])
            start += 1
        }
        if start > capacity { removeLetGo() }
    }

    private mutating func removeLetGo() {
        bodies.removeFirst(start)
        firstSeq += Int64(start)
        start = 0
    }

    /// Forgets the frames up to `seq`: the client has acknowledged them in a heartbeat and will
    /// never resume from before it.
    public mutating func drop(through seq: Int64) {
        while start < bodies.count, self.seq(at: start) <= seq {
            keptBytes -= Self.byteCount(self.seq(at: start), bodies[start])
            start += 1
        }
        // Everything acknowledged (an idle session after its first heartbeat): the bodies go
        // now, not after hundreds more frames; a session's own GUILD_CREATEs are kilobytes each.
        if start == bodies.count { bodies.removeAll(keepingCapacity: true); start = 0 }
        if start > capacity / 2 { removeLetGo() }
    }

    /// How many frames the buffer's storage has room for (kept or let go, not yet removed).
    var storageCapacity: Int { bodies.capacity }

    /// The kept frames, oldest first, whole (a drain hands them over by `handOver(after:)`).
    public var kept: [KeptFrame] { (start..<bodies.count).map { KeptFrame(seq: seq(at: $0), frame: Self.frame(seq(at: $0), bodies[$0])) } }

    /// The newest `limit` kept frames after `seq` (what a client that acknowledged `seq` may
    /// still ask for), as positions in a drain's `table`; the first one's number.
    public func handOver(after seq: Int64, limit: Int, into table: inout HandOverTable) -> (firstSeq: Int64, bodies: [Int]) {
        // Comparisons before arithmetic: `seq` is the client's number, maybe the largest.
        let after = seq < firstSeq ? start : Int(min(seq - firstSeq, Int64(bodies.count - 1))) + 1
        let from = max(start, after, bodies.count - max(0, limit))
        guard from < bodies.count else { return (lastSeq + 1, []) }
        return (self.seq(at: from), (from..<bodies.count).map { table.position(of: bodies[$0]) })
    }

    /// The frames after `seq`, in order; nil if some of them are no longer kept (or `seq` is
    /// ahead of what was sent).
    public func replay(after seq: Int64) -> [String]? {
        if seq == lastSeq { return [] }
        guard seq < lastSeq, start < bodies.count, seq >= self.seq(at: start) - 1 else { return nil }
        // At or past the last kept frame (a frame sent only came after it): nothing kept is missed.
        guard seq < self.seq(at: bodies.count - 1) else { return [] }
        return (Int(seq - firstSeq) + 1..<bodies.count).map { Self.frame(self.seq(at: $0), bodies[$0]) }
    }
}

public struct KeptFrame: Codable, Sendable, Equatable {
    public var seq: Int64
    public var frame: String
}
