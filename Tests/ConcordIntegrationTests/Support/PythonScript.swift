import Foundation
import Synchronization

/// Runs a Python script of the test suite (from the virtual environment `make test` prepared)
/// and returns its exit status and combined output.
enum PythonScript {
    static let python = ProcessInfo.processInfo.environment["CONCORD_TEST_PYTHON"]
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func run(_ relativePath: String, _ arguments: [String], python: String? = nil, timeout: Duration) async throws -> (status: Int32?, log: String) {
        let result = try await Subprocess.run(python ?? self.python!, [testsDirectory.appendingPathComponent(relativePath).path] + arguments, timeout: timeout)
        return (result.status, result.log)
    }
}

/// A child process run to its end (or its timeout), with its combined output.
enum Subprocess {
    struct Result {
        /// nil: still running at the timeout (then terminated).
        var status: Int32?
        var killedBySignal: Bool
        var log: String
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    timeout: Duration) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        // Read as it comes, so a chatty process never blocks on a full pipe.
        let collected = LogBuffer()
        output.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        try process.run()
        // Polled, not waitUntilExit(): that can block a cooperative thread on Linux.
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { process.terminate() }
        try await Task.sleep(for: .milliseconds(100))
        output.fileHandleForReading.readabilityHandler = nil
        collected.append(output.fileHandleForReading.availableData)
        let finished = !process.isRunning
        return Result(status: finished ? process.terminationStatus : nil,
                      killedBySignal: finished && process.terminationReason == .uncaughtSignal, log: collected.text)
    }
}

/// Output gathered from a pipe's handler thread.
final class LogBuffer: Sendable {
    private let data = Mutex(Data())
    func append(_ chunk: Data) { data.withLock { $0.append(chunk) } }
    var text: String { String(decoding: data.withLock { $0 }, as: UTF8.self) }
}
