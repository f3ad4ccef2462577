import ConcordModels
import Foundation
import Testing
import Yams

/// No Docker engine runs here, so the compose file is checked by reading it: it must describe
/// the same cells, regions and ports as the cluster config `make run` uses.
@Suite("Docker compose topology")
struct ComposeFileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func load(_ path: String) throws -> String {
        try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
    }

    @Test func composeMatchesTheClusterConfig() throws {
        let local = try ClusterConfig.load(path: Self.root.appendingPathComponent("config/cluster.json").path)
        let docker = try ClusterConfig.load(path: Self.root.appendingPathComponent("docker/cluster.json").path)
        #expect(docker.regions == local.regions)
        #expect(docker.cells.map(\.id) == local.cells.map(\.id))
        #expect(docker.cells.map(\.name) == local.cells.map(\.name))
        #expect(docker.cells.map(\.region) == local.cells.map(\.region))
        #expect(docker.edges.map(\.name) == local.edges.map(\.name))
        #expect(docker.edges.map(\.listen.port) == local.edges.map(\.listen.port))
        // Two regions, each with a cell and an edge.
        #expect(local.regions.count == 2)
        for region in local.regions {
            #expect(local.cells.contains { $0.region == region } && local.edges.contains { $0.region == region }, "region \(region)")
        }

        let compose = try #require(try Yams.load(yaml: try load("docker/compose.yaml")) as? [String: Any])
        let services = try #require(compose["services"] as? [String: Any])
        let volumes = try #require(compose["volumes"] as? [String: Any])
        for cell in docker.cells {
            // Every host the docker config names is a service of the compose file.
            #expect(services[cell.postgres.host] != nil, "no service \(cell.postgres.host)")
            #expect(services[cell.redis.host] != nil, "no service \(cell.redis.host)")
            // Edges and relays in other containers dial the cell's service, not a wildcard address.
            #expect(services[cell.api.host] != nil, "cell \(cell.name) is dialled at \(cell.api.host), which is no service")
            let process = try #require(services[cell.name] as? [String: Any], "no service for cell \(cell.name)")
            #expect((process["command"] as? [String])?.contains(cell.name) == true)
            #expect(services["migrate-\(cell.name)"] != nil)
            let relay = try #require(services["relay-\(cell.name)"] as? [String: Any], "no relay into \(cell.name)")
            #expect((relay["command"] as? [String]) == ["relay", "--config", "/opt/concord/cluster.json", "--name", cell.name])
            #expect(volumes["pg-\(cell.name)"] != nil && volumes["redis-\(cell.name)"] != nil)
            // The cold tier's archive files live on a named volume at the directory the config names.
            #expect(volumes["archive-\(cell.name)"] != nil)
            #expect((process["volumes"] as? [String])?.contains("archive-\(cell.name):\(cell.archiveDirectory)") == true)
        }
        for edge in docker.edges {
            let service = try #require(services[edge.name] as? [String: Any], "no service for edge \(edge.name)")
            let ports = (service["ports"] as? [String]) ?? []
            #expect(ports.contains("\(edge.listen.port):\(edge.listen.port)"))
        }
        // Secrets are required from the environment, never written in the file.
        let text = try load("docker/compose.yaml")
        #expect(text.contains("${CONCORD_TOKEN_SECRET:?"))
        #expect(!text.contains("CONCORD_TOKEN_SECRET: \""))
    }

    /// Cells connect to PostgreSQL as a role of their own, never the superuser; the compose
    /// file's PostgreSQL creates that role, with its own password, when it initializes.
    @Test func cellsDoNotConnectAsTheSuperuser() throws {
        for path in ["config/cluster.json", "docker/cluster.json"] {
            let config = try ClusterConfig.load(path: Self.root.appendingPathComponent(path).path)
            for cell in config.cells { #expect(cell.postgres.user != "postgres", "\(path): cell \(cell.name)") }
        }
        let compose = try #require(try Yams.load(yaml: try load("docker/compose.yaml")) as? [String: Any])
        let services = try #require(compose["services"] as? [String: Any])
        let docker = try ClusterConfig.load(path: Self.root.appendingPathComponent("docker/cluster.json").path)
        for cell in docker.cells {
            let postgres = try #require(services[cell.postgres.host] as? [String: Any])
            let environment = try #require(postgres["environment"] as? [String: Any])
            #expect(environment["CONCORD_PG_USER"] as? String == cell.postgres.user)
            #expect((environment["POSTGRES_PASSWORD"] as? String)?.contains("CONCORD_PG_ADMIN_PASSWORD") == true, "the superuser's password is not the cells'")
            #expect((postgres["volumes"] as? [String])?.contains("./postgres-init:/docker-entrypoint-initdb.d:ro") == true)
        }
        let script = try load("docker/postgres-init/10-cell-role.sh")
        #expect(script.contains("NOSUPERUSER") && script.contains("OWNER TO"))
        // make run and make bench give each cell's database to such a role too.
        for path in ["scripts/run.sh", "scripts/bench.sh"] { #expect(try load(path).contains("ensure_cell_database"), "\(path)") }
    }
}
