import CZstd

/// Discord's `compress=zstd-stream`: one zstd stream for the whole connection, each message
/// compressed and flushed (ZSTD_e_flush) so the client can decompress it on arrival while the
/// window carries over between messages. Not thread-safe: one connection's writer owns it.
public final class ZstdStreamCompressor: GatewayCompressor {
    private let context: OpaquePointer

    /// Level 1, a 16 KiB window, a 16 KiB hash table and 4 KiB blocks: a context per connection
    /// held ~850 KB of the edge at the default level and window, ~124 KB with a 64 KiB window and
    /// level 1's own table, and 150 KB of buffers (76 KB of them written by READY and
    /// GUILD_CREATE) with the default 128 KiB block; 82 KB (64 KB written) with 4 KiB blocks, as
    /// zstd writes ~30 KB of any context when it starts. Gateway frames are short: a small
    /// window still spans many of them, and a frame longer than a block is still compressed
    /// against the window: with 4 KiB blocks, chat messages compressed as small as before and a
    /// 20 KB GUILD_CREATE ~7% larger, for about half the context (`aZstdContextKeepsSmallBlocks`).
    public init() {
        guard let context = ZSTD_createCCtx() else { fatalError("ZSTD_createCCtx failed") }
        for (parameter, value) in [(ZSTD_c_compressionLevel, Int32(1)), (ZSTD_c_windowLog, 14), (ZSTD_c_hashLog, 12)] {
            precondition(ZSTD_isError(ZSTD_CCtx_setParameter(context, parameter, value)) == 0, "zstd parameter refused")
        }
        // Only less memory: a libzstd that refuses it keeps its default blocks.
        _ = concord_zstd_limit_block_size(context, Self.blockSize)
        self.context = context
    }

    static let blockSize: Int32 = 4096

    /// The context's memory as zstd counts it (its buffers, touched or not).
    public var contextBytes: Int { ZSTD_sizeof_CCtx(context) }

    deinit { ZSTD_freeCCtx(context) }

    public func compress(_ text: String) -> [UInt8] {
        var input = Array(text.utf8)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: max(256, Int(ZSTD_compressBound(input.count))))
        input.withUnsafeMutableBytes { inBytes in
            var source = ZSTD_inBuffer(src: inBytes.baseAddress, size: inBytes.count, pos: 0)
            var remaining = 0
            repeat {
                chunk.withUnsafeMutableBytes { outBytes in
                    var sink = ZSTD_outBuffer(dst: outBytes.baseAddress, size: outBytes.count, pos: 0)
                    remaining = ZSTD_compressStream2(context, &sink, &source, ZSTD_e_flush)
                    precondition(ZSTD_isError(remaining) == 0, "zstd compression failed")
                    output.append(contentsOf: outBytes[0..<sink.pos])
                }
            } while remaining > 0
        }
        return output
    }
}

/// The client side of zstd-stream (tests and load generators).
public final class ZstdStreamDecompressor: GatewayDecompressor {
    private let context: OpaquePointer

    public init() {
        guard let context = ZSTD_createDCtx() else { fatalError("ZSTD_createDCtx failed") }
        self.context = context
    }

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses one flushed message; nil on corrupt input.
    public func decompress(_ bytes: [UInt8]) -> String? {
        var input = bytes
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var failed = false
        input.withUnsafeMutableBytes { inBytes in
            var source = ZSTD_inBuffer(src: inBytes.baseAddress, size: inBytes.count, pos: 0)
            var filled = false
            repeat {
                chunk.withUnsafeMutableBytes { outBytes in
                    var sink = ZSTD_outBuffer(dst: outBytes.baseAddress, size: outBytes.count, pos: 0)
                    let status = ZSTD_decompressStream(context, &sink, &source)
                    if ZSTD_isError(status) != 0 { failed = true }
                    output.append(contentsOf: outBytes[0..<sink.pos])
                    filled = sink.pos == sink.size
                }
            } while !failed && (source.pos < source.size || filled)
        }
        return failed ? nil : String(decoding: output, as: UTF8.self)
    }
}
