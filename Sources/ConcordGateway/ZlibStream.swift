import CZlib

/// Feeds `input` through one zlib step function (deflate or inflate, with Z_SYNC_FLUSH) until
/// it has consumed everything and has no more output; returns the output and the last status.
private func pump(_ stream: inout z_stream, _ input: [UInt8], chunkSize: Int,
                  _ step: (inout z_stream) -> Int32) -> ([UInt8], Int32) {
    var input = input
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: chunkSize)
    var status = Z_OK
    input.withUnsafeMutableBufferPointer { inBuf in
        stream.next_in = inBuf.baseAddress
        stream.avail_in = uInt(inBuf.count)
        repeat {
            chunk.withUnsafeMutableBufferPointer { outBuf in
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                status = step(&stream)
                output.append(contentsOf: outBuf[0..<(outBuf.count - Int(stream.avail_out))])
            }
        } while status == Z_OK && (stream.avail_in > 0 || stream.avail_out == 0)
    }
    return (output, status)
}

/// Discord's `compress=zlib-stream`: one zlib context for the whole connection, each message
/// deflated and flushed with Z_SYNC_FLUSH so it ends in 00 00 FF FF and the client can inflate
/// it at once. Not thread-safe: one connection's writer owns it.
public final class ZlibStreamCompressor: GatewayCompressor {
    private var stream = z_stream()

    /// The fastest level: every delivery is deflated once per receiving session, and the edge
    /// measured ~62 µs per delivery at the default level (`make bench-fanout`); gateway frames
    /// are short JSON, where level 1 gives up little size. A 4 KiB window and small hash
    /// (memLevel 4) keep a connection's context near 30 KB instead of ~256 KB; clients inflate
    /// it with their usual 32 KiB window (a stream's header names the smaller one).
    ///
    /// - Parameter continuing: carry on a stream another context started (see
    ///   `GatewayCompression.makeContinuation`): raw deflate, without the zlib header the
    ///   stream's first bytes already had.
    public init(continuing: Bool = false) {
        let windowBits: Int32 = continuing ? -12 : 12
        precondition(czlib_deflate_init2(&stream, Z_BEST_SPEED, windowBits, 4) == Z_OK, "zlib deflateInit failed")
    }

    deinit { deflateEnd(&stream) }

    public func compress(_ text: String) -> [UInt8] {
        let input = Array(text.utf8)
        return pump(&stream, input, chunkSize: max(256, input.count / 2 + 64)) { deflate(&$0, Z_SYNC_FLUSH) }.0
    }

    /// `text` as one message of a stream between messages, without a context: a stored
    /// (uncompressed) deflate block and the sync-flush marker, which is itself an empty stored
    /// block. Nil past a stored block's 65,535 bytes. A stream whose context was released sends
    /// its small frames so (a heartbeat's acknowledgement: compressing it would save nothing).
    public static func stored(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard let length = UInt16(exactly: bytes.count) else { return nil }
        // Each block's header is byte-aligned here: 3 bits (not final, stored) padded to a byte.
        return [0, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)] + bytes + [0, 0, 0, 0xFF, 0xFF]
    }
}

/// The client side of zlib-stream (tests and load generators).
public final class ZlibStreamDecompressor: GatewayDecompressor {
    private var stream = z_stream()

    public init() {
        precondition(czlib_inflate_init(&stream) == Z_OK, "zlib inflateInit failed")
    }

    deinit { inflateEnd(&stream) }

    /// Inflates one message (which ends with the sync-flush marker); nil on corrupt input.
    public func decompress(_ bytes: [UInt8]) -> String? {
        let (output, status) = pump(&stream, bytes, chunkSize: 4096) { inflate(&$0, Z_SYNC_FLUSH) }
        guard status == Z_OK || status == Z_BUF_ERROR else { return nil }
        return String(decoding: output, as: UTF8.self)
    }
}
