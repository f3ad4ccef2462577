import ArgumentParser
import ConcordModels

/// Prints the cluster config as lines for shell scripts (`make run` reads it).
struct TopologyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "topology",
        abstract: "Prints the config's cells and edges, one per line: `cell NAME PG_PORT REDIS_PORT DATABASE` / `edge NAME URL REGION`.")
    @Option(help: "The cluster config file (JSON).")
    var config: String = "config/cluster.json"

    func run() throws {
        let cluster = try ClusterConfig.load(path: config)
        for c in cluster.cells { print("cell \(c.name) \(c.postgres.port) \(c.redis.port) \(c.postgres.database)") }
        for e in cluster.edges { print("edge \(e.name) \(e.public_url) \(e.region)") }
    }
}
