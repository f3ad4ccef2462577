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

    public func makeDecompressor() -> any GatewayDecompressor {
        switch self {
        case .zlibStream: ZlibStreamDecompressor()
        case .zstdStream: ZstdStreamDecompressor()
        }
    }
}
