@testable import ConcordAuth
import Foundation
import Testing

@Suite("Base64url")
struct Base64URLTests {
    /// Foundation's base64 with the URL alphabet and no padding: the reference the codec must match.
    private func reference(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    @Test func encodesAndDecodesLikeFoundation() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = Base64URL.encode(bytes)
            #expect(text == reference(bytes))
            #expect(Base64URL.decode(Substring(text)) == bytes)
        }
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
    }

    @Test func refusesEveryOtherSpelling() {
        #expect(Base64URL.decode("QQ==") == nil, "padding")
        #expect(Base64URL.decode("QR") == nil, "unused bits set: QQ is the one spelling of A")
        #expect(Base64URL.decode("QQ") == [0x41])
        #expect(Base64URL.decode("Q") == nil, "a length no encoding has")
        #expect(Base64URL.decode("Q+8") == nil, "the standard alphabet's +")
        #expect(Base64URL.decode("QQ\u{0}") == nil)
        #expect(Base64URL.decode("é") == nil)
        #expect(Base64URL.decode("") == [])
    }
}
