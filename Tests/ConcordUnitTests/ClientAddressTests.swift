@testable import ConcordEdge
import Testing

@Suite("Client addresses for rate limits")
struct ClientAddressTests {
    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() {
        let resolver = ClientAddress(trustedProxies: ["10.0.0.1", "10.0.0.2"])
        #expect(resolver.resolve(peer: "203.0.113.9", forwardedFor: "1.2.3.4") == "203.0.113.9", "a client cannot name another address")
        #expect(resolver.resolve(peer: "10.0.0.1", forwardedFor: "1.2.3.4") == "1.2.3.4")
        #expect(resolver.resolve(peer: "10.0.0.1", forwardedFor: "6.6.6.6, 1.2.3.4, 10.0.0.2") == "1.2.3.4",
                "the right-most address no trusted proxy added; entries left of it may be forged")
        #expect(resolver.resolve(peer: "10.0.0.1", forwardedFor: nil) == "10.0.0.1")
        #expect(resolver.resolve(peer: nil, forwardedFor: "1.2.3.4") == "unknown")
    }

    @Test func jsonContentTypes() {
        #expect(EdgeAPI.declaresJSON("application/json"))
        #expect(EdgeAPI.declaresJSON("Application/JSON; charset=utf-8"))
        #expect(!EdgeAPI.declaresJSON("text/plain"))
        #expect(!EdgeAPI.declaresJSON(nil))
        #expect(!EdgeAPI.declaresJSON("application/jsonp"))
        #expect(EdgeAPI.declaresJSON(" \tapplication/json\t ; charset=utf-8"))
        #expect(!EdgeAPI.declaresJSON("application\u{0F}json"), "only letters match their capitals")
        #expect(!EdgeAPI.declaresJSON("application/js"))
        #expect(!EdgeAPI.declaresJSON(""))
    }
}
