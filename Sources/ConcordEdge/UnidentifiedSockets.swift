import Synchronization

/// Gateway sockets that have not identified (or resumed) yet, counted per client address: each
/// costs a compression context from HELLO on, and a client could open them by the thousand
/// without ever naming a token. Past `perAddress`, a new socket is closed at once (4008).
final class UnidentifiedSockets: Sendable {
    let perAddress: Int
    private let counts = Mutex<[String: Int]>([:])

    init(perAddress: Int) { self.perAddress = perAddress }

    /// Counts the socket against its address, unless the address is at its limit.
    func admit(_ binding: SocketBinding) -> Bool {
        let admitted = counts.withLock { counts in
            let count = counts[binding.address, default: 0]
            guard count < perAddress else { return false }
            counts[binding.address] = count + 1
            return true
        }
        binding.counted.store(admitted, ordering: .relaxed)
        return admitted
    }

    /// The socket identified or closed: it no longer counts (once, whichever comes first).
    func release(_ binding: SocketBinding) {
        guard binding.counted.exchange(false, ordering: .relaxed) else { return }
        counts.withLock { counts in
            let count = counts[binding.address, default: 1] - 1
            counts[binding.address] = count > 0 ? count : nil
        }
    }

    func count(_ address: String) -> Int { counts.withLock { $0[address] ?? 0 } }
}
