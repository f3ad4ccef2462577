import ServiceLifecycle
import Synchronization

/// Names the services of a process that are still running, so a test whose shutdown hangs says
/// which part of the process did not stop.
final class ServiceWatch: Sendable {
    private let running = Mutex<[String: Int]>([:])

    func wrap(_ services: [any Service]) -> [any Service] {
        services.map { WatchedService(inner: $0, name: String(describing: type(of: $0)), watch: self) }
    }

    var stillRunning: [String] { running.withLock { $0.filter { $0.value > 0 }.map(\.key).sorted() } }

    fileprivate func started(_ name: String) { running.withLock { $0[name, default: 0] += 1 } }
    fileprivate func finished(_ name: String) { running.withLock { $0[name, default: 0] -= 1 } }
}

private struct WatchedService: Service {
    let inner: any Service
    let name: String
    let watch: ServiceWatch

    func run() async throws {
        watch.started(name)
        defer { watch.finished(name) }
        try await inner.run()
    }
}
