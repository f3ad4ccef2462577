import Foundation

/// Coalesces identical history reads: while one read of a page is in flight, every other
/// request for the same page waits for its answer instead of asking the database again; and a
/// page read at a known version of its channel is kept for the readers that arrive just after
/// (a thousand clients opening one busy channel cost one query per distinct page). Keys carry
/// the channel's version, which every post, edit and deletion raises, so a request made after
/// a change never shares a read made before it.
actor PageFlights {
    private var inFlight: [String: Task<String, any Error>] = [:]
    private var recent: [String: (page: String, used: UInt64)] = [:]
    private var clock: UInt64 = 0
    let capacity: Int

    init(capacity: Int = 512) {
        self.capacity = capacity
    }

    /// `remember`: the key names a version of the channel, so the answer may be kept.
    func run(_ key: String, remember: Bool, _ read: @escaping @Sendable () async throws -> String) async throws -> String {
        clock += 1
        if let kept = recent[key] {
            recent[key]?.used = clock
            return kept.page
        }
        if let running = inFlight[key] { return try await running.value }
        let task = Task { try await read() }
        inFlight[key] = task
        defer { inFlight[key] = nil }
        let page = try await task.value
        if remember {
            recent[key] = (page, clock)
            if recent.count > capacity, let oldest = recent.min(by: { $0.value.used < $1.value.used })?.key { recent[oldest] = nil }
        }
        return page
    }
}
