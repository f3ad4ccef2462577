import Foundation

/// Coalesces identical reads: while one read is in flight, every other request for the same key
/// waits for its answer instead of asking the database again; and, where the key names a version
/// of what was read, the answer is kept for the readers that arrive just after.
///
/// History pages (a thousand clients opening one busy channel cost one query per distinct page):
/// keys carry the channel's version, which every post, edit and deletion raises, so a request
/// made after a change never shares a read made before it. READY's workspace parts: keys carry
/// the outbox head each READY read first, so a session never gets state older than its head.
actor Flights<Value: Sendable> {
    private var inFlight: [String: Task<Value, any Error>] = [:]
    private var recent: [String: (value: Value, used: UInt64)] = [:]
    private var clock: UInt64 = 0
    let capacity: Int

    init(capacity: Int = 512) {
        self.capacity = capacity
    }

    /// `remember`: the key names a version of what is read, so the answer may be kept.
    func run(_ key: String, remember: Bool, _ read: @escaping @Sendable () async throws -> Value) async throws -> Value {
        clock += 1
        if let kept = recent[key] {
            recent[key]?.used = clock
            return kept.value
        }
        if let running = inFlight[key] { return try await running.value }
        let task = Task { try await read() }
        inFlight[key] = task
        defer { inFlight[key] = nil }
        let value = try await task.value
        if remember {
            recent[key] = (value, clock)
            if recent.count > capacity, let oldest = recent.min(by: { $0.value.used < $1.value.used })?.key { recent[oldest] = nil }
        }
        return value
    }
}
