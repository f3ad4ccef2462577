import Crypto
import _CryptoExtras
import Foundation

/// Password hashing with scrypt (memory-hard). Stored as
/// `scrypt$N$r$p$salt$hash` so parameters can be raised later without breaking old hashes:
/// a login with a hash weaker than the current parameters stores a new one.
public struct PasswordHasher: Sendable {
    public var rounds: Int
    public var blockSize: Int
    public var parallelism: Int

    /// OWASP's recommendation for scrypt: N=2^17, r=8, p=1 (128 MiB and a few hundred
    /// milliseconds per hash). Lower only where a test configures it.
    public static let standard = PasswordHasher(costLog2: 17)

    public init(rounds: Int, blockSize: Int, parallelism: Int) {
        self.rounds = rounds
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    /// N = 2^costLog2, r=8, p=1.
    public init(costLog2: Int) {
        self.init(rounds: 1 << min(max(costLog2, 4), 20), blockSize: 8, parallelism: 1)
    }

    public func hash(_ password: String) throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        var rng = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = UInt8.random(in: .min ... .max, using: &rng) }
        let derived = try Self.derive(password, salt: salt, rounds: rounds, blockSize: blockSize, parallelism: parallelism)
        return ["scrypt", String(rounds), String(blockSize), String(parallelism),
                Base64URL.encode(salt), Base64URL.encode(derived)].joined(separator: "$")
    }

    /// Whether a stored hash was made with weaker parameters than these.
    public func isWeaker(_ stored: String) -> Bool {
        guard let p = Self.parameters(stored) else { return true }
        return p.n < rounds || p.r < blockSize || p.p < parallelism
    }

    public static func verify(_ password: String, against stored: String) -> Bool {
        guard let p = parameters(stored),
              let actual = try? derive(password, salt: p.salt, rounds: p.n, blockSize: p.r, parallelism: p.p)
        else { return false }
        // Constant-time comparison.
        guard actual.count == p.expected.count else { return false }
        return zip(actual, p.expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// A stored hash's parameters; nil when it is not one of ours, or asks for more work or
    /// memory than any hash this code makes (a tampered row must not stall the cell).
    private static func parameters(_ stored: String) -> (n: Int, r: Int, p: Int, salt: [UInt8], expected: [UInt8])? {
        let parts = stored.split(separator: "$")
        guard parts.count == 6, parts[0] == "scrypt",
              let n = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]),
              (2...(1 << 20)).contains(n), (1...16).contains(r), (1...4).contains(p),
              let salt = Base64URL.decode(parts[4]), let expected = Base64URL.decode(parts[5]) else { return nil }
        return (n, r, p, salt, expected)
    }

    private static func derive(_ password: String, salt: [UInt8], rounds: Int, blockSize: Int, parallelism: Int) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(from: Array(password.utf8), salt: salt, outputByteCount: 32,
                                           rounds: rounds, blockSize: blockSize, parallelism: parallelism)
        return key.withUnsafeBytes(Array.init)
    }
}
