import Foundation
import Synchronization

/// Runs a Python script of the test suite (from the virtual environment `make test` prepared)
/// and returns its exit status and combined output.
enum PythonScript {
    static let python = ProcessInfo.processInfo.environment["CONCORD_TEST_PYTHON"]
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func run(_ relativePath: String, _ arguments: [String], timeout: Duration) async throws -> (status: Int32?, log: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python!)
        process.arguments = [testsDirectory.appendingPathComponent(relativePath).path] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        // Read as it comes, so a chatty script never blocks on a full pipe.
        let collected = LogBuffer()
        output.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        try process.run()
        // Polled, not waitUntilExit(): that can block a cooperative thread on Linux.
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning { process.terminate() }
        try await Task.sleep(for: .milliseconds(200))
        output.fileHandleForReading.readabilityHandler = nil
        collected.append(output.fileHandleForReading.availableData)
        return (process.isRunning ? nil : process.terminationStatus, collected.text)
    }
}

/// Output gathered from a pipe's handler thread.
final class LogBuffer: Sendable {
    private let data = Mutex(Data())
    func append(_ chunk: Data) { data.withLock { $0.append(chunk) } }
    var text: String { String(decoding: data.withLock { $0 }, as: UTF8.self) }
}
