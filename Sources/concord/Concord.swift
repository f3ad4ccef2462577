import ArgumentParser
import ConcordCell
import ConcordEdge
import ConcordRelay
import ConcordModels
import ConcordObservability
import Foundation
import NIOCore
import NIOPosix
import Logging
import ServiceLifecycle

@main
enum Main {
    static func main() async {
        // Before anything uses NIO's shared event loops: how many there are (one per core by default).
        let environment = ProcessInfo.processInfo.environment
        if let loops = EventLoops.requested(in: environment) {
            NIOSingletons.groupLoopCountSuggestion = loops
        } else if let asked = environment[EventLoops.variable] {
            FileHandle.standardError.write(Data("\(EventLoops.variable)=\(asked) is not a count in 1...\(EventLoops.most); one event loop per core\n".utf8))
        }
        // Run Swift concurrency on NIO's event loops: no thread hop between the I/O of a request
        // and the code that handles it (a large share of CPU time on 2 cores otherwise).
        if environment["CONCORD_DEFAULT_EXECUTOR"] == nil {
            _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        await Concord.main()
    }
}

struct Concord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concord",
        abstract: "Runs one Concord process: an edge, a cell or a relay.",
        subcommands: [EdgeCommand.self, CellCommand.self, RelayCommand.self])
}

struct ProcessOptions: ParsableArguments {
    @Option(help: "The cluster config file (JSON).")
    var config: String = "config/cluster.json"

    @Option(help: "This process's name in the cluster config.")
    var name: String

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    @Option(help: "Log format: text, or json (one object per line; also CONCORD_LOG_FORMAT=json).")
    var logFormat: String = ProcessInfo.processInfo.environment["CONCORD_LOG_FORMAT"] ?? "text"

    /// Chooses the log backend (once, before any logger is made) and makes this process's logger.
    func logger(_ label: String) -> Logger {
        if logFormat == "json" { LoggingSystem.bootstrap { JSONLogHandler(label: $0) } }
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return logger
    }
}

struct EdgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "edge", abstract: "Runs an edge: the public REST API.")
    @OptionGroup var options: ProcessOptions

    func run() async throws {
        let config = try ClusterConfig.load(path: options.config)
        guard let edge = config.edge(named: options.name) else { throw ValidationError("no edge named \(options.name) in \(options.config)") }
        let logger = options.logger("concord.edge.\(edge.name)")
        let node = try EdgeNode(config: config, edge: edge, secrets: try ClusterSecrets.fromEnvironment(), logger: logger) { port in
            logger.notice("edge listening", metadata: ["url": "\(edge.public_url)", "port": "\(port)"])
        }
        try await ServiceGroup(services: node.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    }
}

struct CellCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cell", abstract: "Runs a cell: its internal API, outbox publisher and chores.")
    @OptionGroup var options: ProcessOptions

    func run() async throws {
        let config = try ClusterConfig.load(path: options.config)
        guard let cell = config.cell(named: options.name) else { throw ValidationError("no cell named \(options.name) in \(options.config)") }
        let logger = options.logger("concord.cell.\(cell.name)")
        let node = try CellNode(cell: cell, cluster: config.cells, secrets: try ClusterSecrets.fromEnvironment(),
                            retentionHours: config.outbox_retention_hours ?? 72, uploadBytes: config.uploadBytes,
                            internalTLS: config.internal_tls, logger: logger) { port in
            logger.notice("cell listening", metadata: ["api": "\(cell.api.host):\(port)"])
        }
        try await ServiceGroup(services: node.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    }
}

struct RelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "relay",
        abstract: "Runs the relay into one cell: other cells' outbox events applied to its replicas of shared channels.")
    @OptionGroup var options: ProcessOptions

    func run() async throws {
        let config = try ClusterConfig.load(path: options.config)
        guard let cell = config.cell(named: options.name) else { throw ValidationError("no cell named \(options.name) in \(options.config)") }
        let logger = options.logger("concord.relay.\(cell.name)")
        let secrets = try ClusterSecrets.fromEnvironment()
        let relay = Relay(config: config, destination: cell, internalSecret: secrets.internalSecret, redis: secrets.redis(.relay), logger: logger)
        logger.notice("relaying into cell", metadata: ["cell": "\(cell.name)"])
        var services: [any Service] = [relay]
        if let admin = cell.relay_admin {
            // Alive is ready: the relay keeps trying whatever is down, and its lag says how it goes.
            services.insert(AdminServer.application(host: admin.host, port: admin.port, metrics: relay.metrics, readiness: [], logger: logger), at: 0)
        }
        try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    }
}
