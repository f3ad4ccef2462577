@testable import ConcordAuth
import ConcordModels
import Testing

@Suite("Tokens and passwords")
struct AuthTests {
    let authority = TokenAuthority(secret: Array("0123456789abcdef0123456789abcdef".utf8))

    @Test func tokensVerifyAndCarryTheirClaims() {
        let token = authority.mint(userID: Snowflake(175928847299117063), tokenID: Snowflake(99), kind: .user)
        #expect(authority.verify(token) == TokenClaims(userID: Snowflake(175928847299117063), tokenID: Snowflake(99), kind: .user))
        #expect(authority.authenticate(authorizationHeader: token)?.userID == Snowflake(175928847299117063))
        #expect(authority.authenticate(authorizationHeader: "Bot " + token) == nil, "a user token is not a bot token")
    }

    @Test func botTokensNeedTheirPrefix() {
        let token = authority.mint(userID: Snowflake(1), tokenID: Snowflake(2), kind: .bot)
        #expect(authority.authenticate(authorizationHeader: "Bot " + token)?.isBot == true)
        #expect(authority.authenticate(authorizationHeader: token) == nil)
    }

    @Test func tamperedOrForeignTokensFail() {
        let token = authority.mint(userID: Snowflake(1), tokenID: Snowflake(2), kind: .user)
        var bytes = Array(token)
        bytes[3] = bytes[3] == "A" ? "B" : "A"
        #expect(authority.verify(String(bytes)) == nil)
        let other = TokenAuthority(secret: Array("another secret of thirty-two chars!".utf8))
        #expect(other.verify(token) == nil)
        #expect(authority.verify("") == nil)
        #expect(authority.verify("a.b.c") == nil)
        #expect(authority.verify(String(repeating: "x", count: 500)) == nil)
    }

    @Test func verifiedTokensAreRememberedBoundedAndOnlyWhenValid() {
        let authority = TokenAuthority(secret: Array("0123456789abcdef0123456789abcdef".utf8), remembered: 3)
        let tokens = (1...5).map { authority.mint(userID: Snowflake(UInt64($0)), tokenID: Snowflake(UInt64(100 + $0)), kind: .user) }
        #expect(authority.verify(tokens[0])?.userID == Snowflake(1))
        #expect(authority.rememberedCount == 1)
        // Remembered, a token still says the same, and a user's token is still no bot's.
        #expect(authority.verify(tokens[0]) == TokenClaims(userID: Snowflake(1), tokenID: Snowflake(101), kind: .user))
        #expect(authority.authenticate(authorizationHeader: "Bot " + tokens[0]) == nil)
        var tampered = Array(tokens[1]); tampered[tampered.count - 2] = tampered[tampered.count - 2] == "A" ? "B" : "A"
        for _ in 0..<3 { #expect(authority.verify(String(tampered)) == nil) }
        #expect(authority.rememberedCount == 1, "a token that failed is never kept")
        for (index, token) in tokens.enumerated() { #expect(authority.verify(token)?.userID == Snowflake(UInt64(index + 1))) }
        #expect(authority.rememberedCount == 3, "bounded")
        for (index, token) in tokens.enumerated() { #expect(authority.verify(token)?.tokenID == Snowflake(UInt64(101 + index))) }
        // A second spelling of a remembered token that Swift's String calls equal (U+212A KELVIN
        // SIGN for a "K") is refused, as it always was by the check itself.
        let withK = (1...1000).lazy.map { authority.mint(userID: Snowflake(7), tokenID: Snowflake(UInt64($0)), kind: .user) }.first { $0.contains("K") }!
        #expect(authority.verify(withK) != nil)
        let kelvin = withK.replacingOccurrences(of: "K", with: "\u{212A}")
        #expect(kelvin == withK, "Swift's String equality is canonical equivalence")
        #expect(authority.verify(kelvin) == nil)
        // Another secret's authority keeps its own: what one verified says nothing to the other.
        #expect(TokenAuthority(secret: Array("another secret of thirty-two chars!".utf8)).verify(tokens[4]) == nil)
    }

    @Test func hostileTokenTextIsRefusedAndNeverKept() {
        let authority = TokenAuthority(secret: Array("0123456789abcdef0123456789abcdef".utf8), remembered: 8)
        let token = authority.mint(userID: Snowflake(UInt64.max >> 1), tokenID: Snowflake(UInt64.max), kind: .user)
        #expect(authority.verify(token)?.tokenID == Snowflake(UInt64.max), "the largest ids round-trip")
        for hostile in [token + "\u{0}", "\u{0}" + token, String(repeating: "\u{0}", count: 100), "-1", "18446744073709551615",
                        token + String(repeating: "A", count: 10 << 20), String(repeating: ".", count: 10 << 20)] {
            #expect(authority.verify(hostile) == nil)
            #expect(authority.authenticate(authorizationHeader: "Bot " + hostile) == nil)
        }
        #expect(authority.rememberedCount == 1, "only the real token is kept")
    }

    @Test func passwordsHashAndVerify() throws {
        let hasher = PasswordHasher(rounds: 1 << 10, blockSize: 8, parallelism: 1)
        let stored = try hasher.hash("hunter22")
        #expect(stored.hasPrefix("scrypt$1024$8$1$"))
        #expect(PasswordHasher.verify("hunter22", against: stored))
        #expect(!PasswordHasher.verify("hunter23", against: stored))
        #expect(try hasher.hash("hunter22") != stored, "salted")
        #expect(!PasswordHasher.verify("x", against: "garbage"))
    }
}
