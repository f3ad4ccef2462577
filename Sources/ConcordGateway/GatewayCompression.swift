/// A transport compression for gateway frames: one stream per connection, each message
/// flushed so the client can read it on arrival.
public protocol GatewayCompressor: AnyObject {
    func compress(_ text: String) -> [UInt8]
}

public protocol GatewayDecompressor: AnyObject {
    func decompress(_ bytes: [UInt8]) -> String?
}

/// The `compress` query parameter of the gateway URL.
public enum GatewayCompression: String, Sendable, CaseIterable {
    case zlibStream = "zlib-stream"
    case zstdStream = "zstd-stream"

    public func makeCompressor() -> any GatewayCompressor {
        switch self {
        case .zlibStream: ZlibStreamCompressor()
        case .zstdStream: ZstdStreamCompressor()
        }
    }

    /// A new context that carries on a stream whose last message was flushed, without that
    /// stream's context: nil where the format does not allow it. A zlib stream can: after a
    /// sync flush the output is at a block boundary, and a new raw deflate context's blocks
    /// follow on; they refer only to what it compressed itself, which the client's inflater
    /// holds in its window like everything before (the stream's checksum, which a client checks
    /// only at its end, is never sent: the stream ends with the socket). A zstd stream cannot:
    /// its blocks share the frame's repeat offsets, which only the frame's own context knows,
    /// and ending the frame early would end the stream for a client's decoder.
    public func makeContinuation() -> (any GatewayCompressor)? {
        canBeCarriedOn ? ZlibStreamCompressor(continuing: true) : nil
    }

    /// Whether `makeContinuation` makes one.
    public var canBeCarriedOn: Bool { self == .zlibStream }

    public func makeDecompressor() -> any GatewayDecompressor {
        switch self {
        case .zlibStream: ZlibStreamDecompressor()
        case .zstdStream: ZstdStreamDecompressor()
        }
    }
}
