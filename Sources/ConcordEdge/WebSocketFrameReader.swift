import NIOCore

/// Client frames out of a socket's bytes (RFC 6455 §5.2), read by the gateway's one handler
/// instead of NIO's frame decoder, encoder and error handler: three handlers, their contexts
/// and buffers were about a kilobyte of every idle session. What a client may not send fails
/// the connection: reserved bits or opcodes, an unmasked frame, a fragmented or long control
/// frame (1002), a frame past the size limit (1009, known from its header, before its payload
/// is buffered).
struct WebSocketFrameReader {
    struct Frame: Equatable {
        var fin: Bool
        /// 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong.
        var opcode: UInt8
        /// Unmasked.
        var payload: [UInt8]
    }

    enum Failure: Error, Equatable {
        case protocolError
        case tooBig

        /// The close code the failure is answered with, and its reason.
        var closeCode: UInt16 { self == .tooBig ? 1009 : 1002 }
        var reason: String { self == .tooBig ? "frame too big" : "protocol error" }
    }

    let maxFrameSize: Int
    /// The start of a frame not yet whole (empty, which holds no memory, when the last read
    /// ended where a frame did).
    private var pending: [UInt8] = []

    init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
    }

    /// Reads the frames `bytes` completes, in order; what is left of an unfinished frame waits
    /// for the next read.
    mutating func read(_ bytes: ByteBuffer, _ frame: (Frame) -> Void) throws(Failure) {
        let limit = maxFrameSize
        if pending.isEmpty {
            let read = bytes.readableBytesView.withContiguousStorageIfAvailable { Self.frames(in: UnsafeRawBufferPointer($0), maxFrameSize: limit, frame) }
            if let read {
                if let failure = read.failure { throw failure }
                pending = Array(bytes.readableBytesView.dropFirst(read.used))
                return
            }
        }
        pending.append(contentsOf: bytes.readableBytesView)
        let read = pending.withUnsafeBytes { Self.frames(in: $0, maxFrameSize: limit, frame) }
        if let failure = read.failure { throw failure }
        pending.removeFirst(read.used)
    }

    /// Whether a frame has begun and not ended.
    var isWaitingForMore: Bool { !pending.isEmpty }

    /// Opcodes a client may send, as bits: continuation, text, binary, close, ping, pong.
    private static let knownOpcodes: UInt16 = 0b111_0000_0111

    /// Reads whole frames from the front of `bytes`; answers how many bytes they took, or why
    /// the connection must fail.
    private static func frames(in bytes: UnsafeRawBufferPointer, maxFrameSize: Int, _ frame: (Frame) -> Void) -> (used: Int, failure: Failure?) {
        var at = 0
        while bytes.count - at >= 2 {
            let first = bytes[at], second = bytes[at + 1]
            let fin = first & 0x80 != 0, opcode = first & 0x0F
            guard first & 0x70 == 0, knownOpcodes >> opcode & 1 == 1, second & 0x80 != 0 else { return (at, .protocolError) }
            var header = 2
            var length = UInt64(second & 0x7F)
            if length == 126 {
                guard bytes.count - at >= 4 else { break }
                length = UInt64(bytes[at + 2]) << 8 | UInt64(bytes[at + 3])
                header = 4
            } else if length == 127 {
                guard bytes.count - at >= 10 else { break }
                length = (0..<8).reduce(0) { $0 << 8 | UInt64(bytes[at + 2 + $1]) }
                header = 10
            }
            if opcode >= 8, !fin || length > 125 { return (at, .protocolError) }
            guard length <= UInt64(maxFrameSize) else { return (at, .tooBig) }
            let size = Int(length)
            guard bytes.count - at >= header + 4 + size else { break }
            let mask = (bytes[at + header], bytes[at + header + 1], bytes[at + header + 2], bytes[at + header + 3])
            let start = at + header + 4
            let payload = [UInt8](unsafeUninitializedCapacity: size) { out, initialized in
                for i in 0..<size {
                    let key = switch i & 3 { case 0: mask.0; case 1: mask.1; case 2: mask.2; default: mask.3 }
                    out[i] = bytes[start + i] ^ key
                }
                initialized = size
            }
            at = start + size
            frame(Frame(fin: fin, opcode: opcode, payload: payload))
        }
        return (at, nil)
    }
}
