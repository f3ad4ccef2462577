import ConcordAuth
import ConcordModels
import NIOCore
import NIOPosix
import Synchronization

/// Password hashing off the request path's threads: scrypt at OWASP's cost takes hundreds of
/// milliseconds and 128 MiB, so it runs on a small pool of its own (one thread per core), and
/// no more than `queueLimit` hashes wait for it; past that a request is refused (503) rather
/// than let a login flood queue work without bound.
public final class PasswordWork: Sendable {
    public let hasher: PasswordHasher
    private let pool: NIOThreadPool
    private let waiting = Atomic<Int>(0)
    private let queueLimit: Int
    /// A hash of nothing anyone can type, verified when a login names no account: the answer
    /// then costs what a wrong password costs, so timing does not tell which accounts exist.
    private let dummy = Mutex<String?>(nil)

    public init(hasher: PasswordHasher, threads: Int = System.coreCount, queueLimit: Int = 64) {
        self.hasher = hasher
        self.queueLimit = queueLimit
        pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
    }

    /// The pool's threads end with it (a test process makes a cell per test).
    deinit { pool.shutdownGracefully { _ in } }

    public func hash(_ password: String) async throws -> String {
        try await run { [hasher] in try hasher.hash(password) }
    }

    /// Checks a password against its stored hash, or against the dummy when there is none.
    public func verify(_ password: String, against stored: String?) async throws -> Bool {
        try await run { [self] in
            let matches = PasswordHasher.verify(password, against: try stored ?? dummyHash())
            return stored != nil && matches
        }
    }

    /// Made on first use (on the pool), not at start-up: operator commands never need it.
    private func dummyHash() throws -> String {
        if let made = dummy.withLock({ $0 }) { return made }
        let made = try hasher.hash((0..<32).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined())
        dummy.withLock { $0 = $0 ?? made }
        return made
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        guard waiting.wrappingAdd(1, ordering: .relaxed).newValue <= queueLimit else {
            waiting.wrappingSubtract(1, ordering: .relaxed)
            throw APIError.serviceUnavailable
        }
        defer { waiting.wrappingSubtract(1, ordering: .relaxed) }
        return try await pool.runIfActive(body)
    }
}
