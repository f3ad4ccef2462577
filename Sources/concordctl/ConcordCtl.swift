import ArgumentParser
import ConcordAuth
import ConcordCell
import ConcordHTTP
import ConcordModels
import ConcordRedis
import ConcordStorage
import ConcordTiering
import Foundation
import Logging

@main
struct ConcordCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concordctl",
        abstract: "Operates a Concord cluster: schema, users and bots, tokens, workspaces, members, cell health.",
        subcommands: [Migrate.self, UserCommands.self, BotCommands.self, TokenCommands.self, WorkspaceCommands.self,
                      MemberCommands.self, ChannelCommands.self, CellCommands.self, OutboxCommands.self, TierCommands.self, TopologyCommand.self, RedisACLCommand.self, HealthCommand.self, ConnectTest.self, BenchCommands.self])
}

struct CellOptions: ParsableArguments {
    @Option(help: "The cluster config file (JSON).")
    var config: String = ProcessInfo.processInfo.environment["CONCORD_CONFIG"] ?? "config/cluster.json"

    @Option(help: "The cell to act on (default: the first in the config).")
    var cell: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    /// The cells a command acts on: --cell, or all of them.
    func selectedCells() throws -> [ClusterConfig.Cell] {
        cell == nil ? try ClusterConfig.load(path: config).cells : [try selectedCell().1]
    }

    func selectedCell() throws -> (ClusterConfig, ClusterConfig.Cell) {
        let config = try ClusterConfig.load(path: self.config)
        if let cell {
            guard let found = config.cell(named: cell) else { throw ValidationError("no cell named \(cell)") }
            return (config, found)
        }
        return (config, config.cells[0])
    }
}

/// Opens the cell's database (and Redis) for the duration of `body`.
func withDatabase<T: Sendable>(_ cell: ClusterConfig.Cell, _ body: (Database) async throws -> T) async throws -> T {
    var logger = Logger(label: "concordctl")
    // The pool warns when the first query races its start-up; that is harmless here.
    logger.logLevel = .error
    // A move's freeze reads several things of the source at once while its writes wait.
    let db = Database(settings: DatabaseSettings(host: cell.postgres.host, port: cell.postgres.port, database: cell.postgres.database,
                                                 user: cell.postgres.user, password: ProcessInfo.processInfo.environment["CONCORD_PG_PASSWORD"],
                                                 maxConnections: 8, tls: try InternalTLS.postgres(cell.postgres, tls: cell.internal_tls)),
                      logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await db.run() }
        defer { group.cancelAll() }
        return try await body(db)
    }
}

/// Opens several cells' databases at once (cell id → database).
func withDatabases<T: Sendable>(_ cells: [ClusterConfig.Cell], _ body: ([Int: Database]) async throws -> T) async throws -> T {
    guard let first = cells.first else { return try await body([:]) }
    return try await withDatabase(first) { db in
        try await withDatabases(Array(cells.dropFirst())) { rest in
            var all = rest
            all[first.id] = db
            return try await body(all)
        }
    }
}

/// A cell's Redis, with the cluster's Redis password when the environment sets it (over TLS
/// with the operator tool's certificate where the cell says so).
func cellRedis(_ cell: ClusterConfig.Cell) throws -> RedisClient {
    RedisClient(host: cell.redis.host, port: cell.redis.port, password: (try? ClusterSecrets.fromEnvironment())?.redisPassword,
                tls: try InternalTLS.redis(cell, tls: cell.internal_tls, process: "concordctl"))
}

func withDomain<T: Sendable>(_ options: CellOptions, _ body: (CellDomain) async throws -> T) async throws -> T {
    try await withDomain(cell: try options.selectedCell().1, body)
}

func withDomain<T: Sendable>(cell: ClusterConfig.Cell, _ body: (CellDomain) async throws -> T) async throws -> T {
    let secrets = try ClusterSecrets.fromEnvironment()
    let redis = try cellRedis(cell)
    let result = try await withDatabase(cell) { db in
        // Process 15 of the cell: the operator tool mints ids that never collide with the cell's.
        let domain = CellDomain(cellID: cell.id, cellName: cell.name, db: db, redis: redis,
                                tokens: TokenAuthority(secret: secrets.tokenSecret), process: Snowflake.maxProcessID,
                                hasher: PasswordHasher(costLog2: cell.passwordCostLog2),
                                archives: try CellStores.archives(of: cell, keys: secrets.objectStoreKeys),
                                blobs: try CellStores.blobs(of: cell, keys: secrets.objectStoreKeys))
        return try await body(domain)
    }
    await redis.close()
    return result
}

func printJSON(_ value: some Encodable) throws {
    let encoder = WireJSON.encoder()
    encoder.outputFormatting.insert(.prettyPrinted)
    encoder.outputFormatting.insert(.sortedKeys)
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// What a command reports, one fact at a time: for a person, `text` prints it; with `--json`,
/// the fact is one compact JSON line (JSON lines), so scripts read each as it comes.
func report(_ json: Bool, _ fact: some Encodable, text: () -> Void) throws {
    guard json else { return text() }
    let encoder = WireJSON.encoder()
    encoder.outputFormatting.insert(.sortedKeys)
    print(String(decoding: try encoder.encode(fact), as: UTF8.self))
}

/// Progress of a long operation: one line rewritten in place on a terminal, a JSON line per
/// step with `--json`, nothing when the output goes to a file (its report says what happened).
struct ProgressLine: Sendable {
    let json: Bool
    let terminal = isatty(STDOUT_FILENO) != 0

    /// `total` 0: not known ahead (the line shows only what is done).
    func update(_ operation: String, done: Int, total: Int, _ detail: String = "") {
        if json {
            try? report(true, JSONValue.object(["progress": .string(operation), "done": .int(Int64(done)), "total": total > 0 ? .int(Int64(total)) : .null,
                                                "detail": .string(detail)])) {}
        } else if terminal {
            print("\r\u{1B}[K\(operation): \(done)\(total > 0 ? "/\(total)" : "") \(detail)", terminator: "")
            fflush(nil)
        }
    }

    /// Ends the line on a terminal, so what is printed next starts on its own.
    func end() {
        if terminal && !json { print("\r\u{1B}[K", terminator: "") }
    }
}

func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
    func line(_ cells: [String]) -> String {
        zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }
    print(line(header))
    for row in rows { print(line(row)) }
}

func parseID(_ text: String, _ what: String) throws -> Snowflake {
    guard let id = Snowflake(text) else { throw ValidationError("\(what) must be a snowflake id, got \(text)") }
    return id
}
