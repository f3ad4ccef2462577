import ConcordHTTP

/// Gateway sockets that have not identified (or resumed) yet, counted per client address: each
/// costs a compression context from HELLO on, and a client could open them by the thousand
/// without ever naming a token. Past the limit, a new socket is closed at once (4008).
struct UnidentifiedSockets: Sendable {
    let counts: AddressCounts

    init(perAddress: Int) { counts = AddressCounts(limit: perAddress) }

    /// Counts the socket against its address, unless the address is at its limit.
    func admit(_ binding: SocketBinding) -> Bool {
        let admitted = counts.admit(binding.address)
        binding.counted.store(admitted, ordering: .relaxed)
        return admitted
    }

    /// The socket identified or closed: it no longer counts (once, whichever comes first).
    func release(_ binding: SocketBinding) {
        if binding.counted.exchange(false, ordering: .relaxed) { counts.release(binding.address) }
    }
}
