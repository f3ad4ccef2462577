import Foundation

/// The id a request carries from the edge through every cell it reaches, into the outbox rows it
/// writes and, through the relay, into the rows those make in other cells: one id to grep the
/// logs of every process by. It travels as `X-Request-Id` and as a W3C `traceparent`, whose
/// trace id it is (32 hex digits), so tracing systems in front of or behind Concord join in.
public enum RequestID {
    /// The client's `X-Request-Id` when it is 1–64 letters, digits, '-', '_' or '.'; else the
    /// trace id of a valid `traceparent`; else a new id.
    public static func from(_ header: String?, traceparent: String? = nil) -> String {
        if let header, isSound(header) { return header }
        if let trace = traceparent.flatMap(traceID(of:)) { return trace }
        return hex(UInt64.random(in: 0...UInt64.max)) + hex(UInt64.random(in: 0...UInt64.max))
    }

    public static func isSound(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count)
            && id.utf8.allSatisfy { $0 < 128 && (isalnum(Int32($0)) != 0 || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")) }
    }

    /// The trace id of a version-00 `traceparent` (`00-{32 hex}-{16 hex}-{2 hex}`), unless all zeros.
    public static func traceID(of traceparent: String) -> String? {
        let parts = traceparent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
              parts.dropFirst().allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isHexDigit } }), parts[1].contains(where: { $0 != "0" }) else { return nil }
        return parts[1].lowercased()
    }

    /// A `traceparent` for a call made while answering `id`: its trace id is the id itself when
    /// that is 32 hex digits, else a hash of it (so a client's own id still joins one trace).
    public static func traceparent(for id: String) -> String {
        let trace = id.utf8.count == 32 && id.utf8.allSatisfy(isHexDigit) ? id.lowercased()
            : hex(fnv1a(id, seed: 0xcbf2_9ce4_8422_2325)) + hex(fnv1a(id, seed: 0x8422_2325_cbf2_9ce4))
        let span = hex(UInt64.random(in: 1...UInt64.max))
        return "00-\(trace)-\(span)-01"
    }

    /// Both headers for an outgoing call on behalf of the current request, if there is one.
    public static var outgoingHeaders: [(String, String)] {
        guard let id = current else { return [] }
        return [("X-Request-Id", id), ("traceparent", traceparent(for: id))]
    }

    private static func fnv1a(_ text: String, seed: UInt64) -> UInt64 {
        text.utf8.reduce(seed) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20)
    }

    /// 16 lowercase hex digits, zero-padded (ids and trace parts are made per request: no formatting machinery).
    private static func hex(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { buffer in
            for i in 0..<16 { buffer[i] = hexDigits[Int((value >> (60 - 4 * UInt64(i))) & 0xf)] }
            return 16
        }
    }
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// The id of the request being answered, for the calls it makes and the rows it writes.
    @TaskLocal public static var current: String?
}
