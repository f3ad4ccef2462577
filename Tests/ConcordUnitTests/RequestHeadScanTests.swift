@testable import ConcordHTTP
import Testing

/// The connection guard's view of a first request head, read in whatever pieces TCP gives.
struct RequestHeadScanTests {
    static let head = "GET /api/v10/gateway HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"

    func scan(_ pieces: [String]) -> RequestHeadScan {
        var scan = RequestHeadScan()
        for piece in pieces { Array(piece.utf8).withUnsafeBytes { scan.read($0) } }
        return scan
    }

    @Test func aWholeHeadInOneRead() {
        let s = scan([Self.head + "{\"body\":1}"])
        #expect(s.requestLineLength == "GET /api/v10/gateway HTTP/1.1".utf8.count)
        #expect(s.headLength == Self.head.utf8.count, "the blank line ends it; what follows is not the head's")
        #expect(s.headBytes == Self.head.utf8.count)
    }

    @Test func aHeadSplitAtEveryPlaceGivesTheSameAnswer() {
        let bytes = Array(Self.head.utf8)
        for cut in 1..<bytes.count {
            let s = scan([String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[cut...], as: UTF8.self)])
            #expect(s.requestLineLength == 29 && s.headLength == bytes.count, "cut at \(cut)")
        }
        let byteAtATime = scan(bytes.map { String(decoding: [$0], as: UTF8.self) })
        #expect(byteAtATime.requestLineLength == 29 && byteAtATime.headLength == bytes.count)
    }

    @Test func anUnfinishedHeadCountsWhatCame() {
        let s = scan(["GET /", String(repeating: "a", count: 9000)])
        #expect(s.requestLineLength == nil && s.headLength == nil)
        #expect(s.headBytes == 9005, "a request line this long is refused (414) by its length so far")
        // Lone CRs and LFs, and a CRLF pair not followed by another, end nothing.
        let t = scan(["GET / HTTP/1.1\r\nA: b\r\r\n\n\rC: d\r\n\r"])
        #expect(t.requestLineLength == 14 && t.headLength == nil)
        // NULs and 10 MB without a line end are counted, not kept.
        let flood = scan(["GET /\u{0}\u{0}", String(repeating: "\u{0}x", count: 5 << 20)])
        #expect(flood.requestLineLength == nil && flood.headLength == nil && flood.headBytes == 7 + (10 << 20))
        let u = scan(["GET / HTTP/1.1\r\n", "A: b\r\n\r", "\n"])
        #expect(u.headLength == "GET / HTTP/1.1\r\nA: b\r\n\r\n".utf8.count)
    }
}
