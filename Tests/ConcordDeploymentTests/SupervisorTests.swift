import Foundation
import Testing

/// `make run` starts every process under scripts/supervise.sh: a process that dies (here by
/// kill -9) is started again, its restart and exit status are recorded for `make status`, and
/// stopping the supervisor stops the process too.
@Suite("Process supervision")
struct SupervisorTests {
    static let root = ComposeFileTests.root

    /// The supervised `sleep` among the supervisor's children (it also forks for `$(date)`).
    func supervised(by pid: Int32) throws -> [Int32] {
        try children(of: pid).filter { child in
            (try? String(contentsOfFile: "/proc/\(child)/comm", encoding: .utf8))?.hasPrefix("sleep") == true
        }
    }

    /// The process ids whose parent is `pid` (pgrep -P).
    func children(of pid: Int32) throws -> [Int32] {
        let pgrep = Process()
        pgrep.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        pgrep.arguments = ["pgrep", "-P", String(pid)]
        let output = Pipe()
        pgrep.standardOutput = output
        try pgrep.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        pgrep.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { Int32($0) }
    }

    /// Running (a zombie waiting for its parent to collect it is not).
    func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let state = stat.split(separator: ")").last?.split(separator: " ").first else { return false }
        return state != "Z" && state != "X"
    }

    func waitFor<T>(_ what: String, seconds: Double = 10, _ probe: () throws -> T?) async throws -> T {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let value = try probe() { return value }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    @Test func aKilledProcessIsStartedAgainAndStopsWithItsSupervisor() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("supervise-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (log, state) = (folder.appendingPathComponent("log").path, folder.appendingPathComponent("state").path)
        // Started with no signal blocked, as from a shell: a process spawned from one of this
        // test's threads would inherit their blocked signals, and SIGTERM would never reach it.
        let supervisor = Process()
        supervisor.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        supervisor.arguments = ["python3", "-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])",
                                Self.root.appendingPathComponent("scripts/supervise.sh").path, log, state, "sleep", "300"]
        try supervisor.run()
        defer { if supervisor.isRunning { kill(supervisor.processIdentifier, SIGKILL) } }

        let first = try await waitFor("the first start") { try supervised(by: supervisor.processIdentifier).first }
        kill(first, SIGKILL)
        let second = try await waitFor("a restart") { try supervised(by: supervisor.processIdentifier).first { $0 != first } }
        #expect(second != first)
        let recorded = try String(contentsOfFile: state, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(recorded == "1 137", "one restart, after an exit by SIGKILL (128 + 9): \(recorded)")
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("exited with status 137; restart 1"), "\(text)")

        kill(supervisor.processIdentifier, SIGTERM)
        _ = try await waitFor("the supervisor to stop") { supervisor.isRunning ? nil : true }
        _ = try await waitFor("the supervised process to stop with it") { isAlive(second) ? nil : true }
        #expect(try String(contentsOfFile: log, encoding: .utf8).contains("supervisor: stopped"))
    }
}
