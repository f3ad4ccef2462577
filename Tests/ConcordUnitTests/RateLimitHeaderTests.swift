@testable import ConcordEdge
import Foundation
import HTTPTypes
import Testing

/// X-RateLimit-Reset and -Reset-After are seconds with three decimals, as Discord sends them.
@Suite("Rate-limit headers")
struct RateLimitHeaderTests {
    @Test func secondsHaveThreeDecimals() {
        #expect(BucketState.seconds(1.25) == "1.250")
        #expect(BucketState.seconds(0) == "0.000")
        #expect(BucketState.seconds(0.0404) == "0.040")
        #expect(BucketState.seconds(59.9999) == "60.000")
        #expect(BucketState.seconds(-3) == "0.000")
        #expect(BucketState.seconds(1_764_850_000.1234) == "1764850000.123")
        for value in stride(from: 0.0, to: 5, by: 0.0371) {
            #expect(BucketState.seconds(value) == String(format: "%.3f", (value * 1000).rounded() / 1000), "\(value)")
        }
    }

    @Test func aWindowDescribesItselfInTheHeaders() {
        var headers = HTTPFields()
        let ends = (Date().timeIntervalSince1970 + 2).rounded(.down) + 0.25
        BucketState(limit: 5, count: 7, resetAt: ends, name: "createMessage").describe(in: &headers)
        #expect(headers[HTTPField.Name("X-RateLimit-Remaining")!] == "0")
        #expect(headers[HTTPField.Name("X-RateLimit-Reset")!] == BucketState.seconds(ends), "the window's end itself")
        let written = headers[HTTPField.Name("X-RateLimit-Reset-After")!] ?? ""
        let resetAfter = Double(written) ?? 0
        #expect(resetAfter > 1 && resetAfter <= 2.25)
        // Compared as written: a Double of three decimals times 1000 need not be whole (2.046 → 2045.999…).
        #expect(written.split(separator: ".").last?.count == 3, "whole milliseconds")
        #expect(written == BucketState.seconds(resetAfter))
    }
}
