import Synchronization

/// A connection's compression stream, made only when its second frame needs it. The first
/// frame (HELLO, the same on every socket of an edge) is sent as a fresh stream would have
/// compressed it, from bytes computed once; the stream, when it is made, first compresses that
/// frame again and throws the output away, which leaves it exactly where a stream that had sent
/// it would be (compression is deterministic). A socket that never identifies holds no
/// compression context (a zstd one is about a megabyte once used).
///
/// Not thread-safe: the owner serializes calls (the edge holds a lock around it).
public final class DeferredCompressor {
    public let compression: GatewayCompression
    private var stream: (any GatewayCompressor)?
    private var firstFrame: String?

    public init(_ compression: GatewayCompression) {
        self.compression = compression
    }

    /// Whether a compression context exists yet.
    public var isAllocated: Bool { stream != nil }

    public func compress(_ text: String) -> [UInt8] {
        if let stream { return stream.compress(text) }
        guard let first = firstFrame else {
            firstFrame = text
            return FirstFrames.shared.bytes(compression, text)
        }
        let made = compression.makeCompressor()
        _ = made.compress(first)
        stream = made
        return made.compress(text)
    }
}

/// First frames as a fresh stream compresses them, computed once per kind and text.
final class FirstFrames: Sendable {
    static let shared = FirstFrames()
    /// HELLO differs only by heartbeat interval: a handful of entries at most; past the bound
    /// frames are compressed without being kept.
    private static let capacity = 16
    private let cache = Mutex<[String: [UInt8]]>([:])

    func bytes(_ compression: GatewayCompression, _ text: String) -> [UInt8] {
        let key = compression.rawValue + "\u{0}" + text
        if let known = cache.withLock({ $0[key] }) { return known }
        let bytes = compression.makeCompressor().compress(text)
        cache.withLock { if $0.count < Self.capacity { $0[key] = bytes } }
        return bytes
    }
}
