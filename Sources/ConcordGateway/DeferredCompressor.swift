import Synchronization

/// A connection's compression stream, whose context exists only while frames are being sent.
/// The first frame (HELLO, the same on every socket of an edge) is sent as a fresh stream would
/// have compressed it, from bytes computed once; the stream, when it is made, first compresses
/// that frame again and throws the output away, which leaves it exactly where a stream that had
/// sent it would be (compression is deterministic). A socket that never identifies holds no
/// compression context (a zstd one is about a megabyte once used). Where the format allows it
/// (zlib), an idle socket's context is released between messages and a new one carries the
/// stream on at its next frame.
///
/// Not thread-safe: the owner serializes calls (the edge holds a lock around it).
public final class DeferredCompressor {
    private enum Stage {
        /// Nothing sent yet.
        case fresh
        /// The first frame went out as precomputed bytes; no context yet.
        case sentFirst(String)
        case compressing(any GatewayCompressor)
        /// The context was released after a flushed message; the next frame starts a new one.
        case released
    }

    public let compression: GatewayCompression
    private var stage = Stage.fresh

    public init(_ compression: GatewayCompression) {
        self.compression = compression
    }

    /// Whether a compression context exists now.
    public var isAllocated: Bool {
        if case .compressing = stage { true } else { false }
    }

    public func compress(_ text: String) -> [UInt8] {
        switch stage {
        case .compressing(let stream):
            return stream.compress(text)
        case .fresh:
            stage = .sentFirst(text)
            return FirstFrames.shared.bytes(compression, text)
        case .sentFirst(let first):
            let made = compression.makeCompressor()
            _ = made.compress(first)
            stage = .compressing(made)
            return made.compress(text)
        case .released:
            if text.utf8.count <= Self.storedWhileReleased, let stored = ZlibStreamCompressor.stored(text) { return stored }
            // Only a format that can be carried on is ever released.
            guard let made = compression.makeContinuation() else { preconditionFailure("released a stream that cannot be carried on") }
            stage = .compressing(made)
            return made.compress(text)
        }
    }

    /// Frames of a released (zlib) stream up to this many bytes go stored, and the stream stays
    /// without a context: a quiet session's heartbeat acknowledgements made one every 41 s,
    /// held for `gateway_compression_idle_seconds`, to save nothing on a dozen bytes.
    static let storedWhileReleased = 128

    /// Frees the context where the stream can be carried on by a new one (every message is
    /// flushed, so this is between messages); answers whether it did.
    @discardableResult
    public func release() -> Bool {
        guard isAllocated, compression.canBeCarriedOn else { return false }
        stage = .released
        return true
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
