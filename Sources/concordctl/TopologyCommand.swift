import ArgumentParser
import ConcordModels

/// Prints the cluster config as lines for shell scripts (`make run` reads it).
struct TopologyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "topology",
        abstract: "Prints the config's cells, edges and inter-region links, one per line: `cell NAME PG_PORT REDIS_PORT DATABASE USER REDIS_TLS(0|1) PG_TLS` / `edge NAME URL REGION` / `link LISTEN_PORT TARGET_HOST:PORT DELAY_MS` / `admin NAME URL` (metrics and health) / `tls CA DIRECTORY` (internal TLS's files).")
    @Option(help: "The cluster config file (JSON).")
    var config: String = "config/cluster.json"

    func run() throws {
        let cluster = try ClusterConfig.load(path: config)
        for c in cluster.cells {
            print("cell \(c.name) \(c.postgres.port) \(c.redis.port) \(c.postgres.database) \(c.postgres.user) \(c.redis_tls == true ? 1 : 0) \(c.postgres.tls ?? "disable")")
        }
        for e in cluster.edges { print("edge \(e.name) \(e.public_url) \(e.region)") }
        for (name, admin) in cluster.cells.map({ ($0.name, $0.admin) }) + cluster.cells.map({ ("relay-" + $0.name, $0.relay_admin) })
            + cluster.edges.map({ ($0.name, $0.admin) }) {
            if let admin { print("admin \(name) http://\(admin.host == "0.0.0.0" ? "127.0.0.1" : admin.host):\(admin.port)") }
        }
        if let tls = cluster.internal_tls { print("tls \(tls.ca) \(tls.directory)") }
        let delay = cluster.inter_region_delay_ms ?? 0
        for c in cluster.cells {
            for (_, link) in (c.reached_from ?? [:]).sorted(by: { $0.key < $1.key }) {
                print("link \(link.api.port) \(c.api.host == "0.0.0.0" ? "127.0.0.1" : c.api.host):\(c.api.port) \(delay)")
                print("link \(link.redis.port) \(c.redis.host):\(c.redis.port) \(delay)")
            }
        }
    }
}
