import Foundation

/// Coalesces identical history reads: while one read of a page is in flight, every other
/// request for the same page waits for its answer instead of asking the database again (a
/// thousand clients opening one busy channel cost one query per distinct page).
actor PageFlights {
    private var inFlight: [String: Task<String, any Error>] = [:]

    func run(_ key: String, _ read: @escaping @Sendable () async throws -> String) async throws -> String {
        if let running = inFlight[key] { return try await running.value }
        let task = Task { try await read() }
        inFlight[key] = task
        defer { inFlight[key] = nil }
        return try await task.value
    }
}
