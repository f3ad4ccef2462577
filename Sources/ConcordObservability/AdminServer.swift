import Hummingbird
import Logging

/// A process's admin listener, apart from its public or internal API: `/metrics` (Prometheus
/// text), `/healthz` (the process is alive and serving) and `/readyz` (the dependencies it
/// needs answer: 200 when every check passes, 503 naming the ones that fail).
public enum AdminServer {
    /// A named check of one dependency (its PostgreSQL, its Redis, a cell).
    public struct Check: Sendable {
        public let name: String
        public let passes: @Sendable () async -> Bool
        public init(_ name: String, _ passes: @escaping @Sendable () async -> Bool) {
            self.name = name
            self.passes = passes
        }
    }

    /// - Parameter refresh: run before each scrape, to set the gauges that are read rather than
    ///   counted (sessions held, outbox positions).
    public static func application(host: String, port: Int, metrics: NodeMetrics, refresh: @escaping @Sendable () async -> Void = {},
                                   readiness: [Check], logger: Logger,
                                   onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.get("metrics") { _, _ in
            await refresh()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: metrics.scrape())))
        }
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ in
            let failing = await withTaskGroup(of: String?.self) { group in
                for check in readiness { group.addTask { await check.passes() ? nil : check.name } }
                return await group.reduce(into: [String]()) { if let name = $1 { $0.append(name) } }
            }
            let text = failing.isEmpty ? "ready\n" : "not ready: " + failing.sorted().joined(separator: ", ") + "\n"
            return Response(status: failing.isEmpty ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "concord-admin"),
                           onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) }, logger: logger)
    }
}
