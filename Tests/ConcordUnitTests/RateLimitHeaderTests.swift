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
        BucketState(limit: 5, count: 7, resetAfter: 2.0004, name: "createMessage").describe(in: &headers)
        #expect(headers[HTTPField.Name("X-RateLimit-Remaining")!] == "0")
        #expect(headers[HTTPField.Name("X-RateLimit-Reset-After")!] == "2.001", "rounded up to the millisecond")
        let reset = Double(headers[HTTPField.Name("X-RateLimit-Reset")!] ?? "") ?? 0
        #expect(abs(reset - Date().timeIntervalSince1970 - 2.001) < 1)
    }
}
