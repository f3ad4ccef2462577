import ConcordObservability
import Logging
import Synchronization

/// A cluster's log kept in memory for a test to print when it fails: what an edge decided (why
/// a RESUME got op 9, why a token was refused) is in those lines and nowhere a CI run keeps.
final class LogRecorder: Sendable {
    private let lines = Mutex<[String]>([])
    /// The newest lines kept.
    let limit: Int

    init(limit: Int = 300) { self.limit = limit }

    func logger(level: Logger.Level = .debug) -> Logger {
        var logger = Logger(label: "concord.test") { [self] label in JSONLogHandler(label: label) { line in self.append(line) } }
        logger.logLevel = level
        return logger
    }

    var last: String { lines.withLock { $0.suffix(limit).joined(separator: "\n") } }

    /// Libraries' own debug lines (each connection of a pool, each service started) would push
    /// the cluster's out.
    private static let quietSources = [#""source":"PostgresNIO""#, #""source":"ServiceLifecycle""#, #""source":"Hummingbird"#]

    private func append(_ line: String) {
        guard !Self.quietSources.contains(where: line.contains) else { return }
        lines.withLock { lines in
            lines.append(line)
            if lines.count >= 2 * limit { lines.removeFirst(lines.count - limit) }
        }
    }
}
