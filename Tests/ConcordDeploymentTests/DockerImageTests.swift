import ConcordModels
import Foundation
import Testing
import Yams

/// The image and its compose file, read rather than run (no Docker engine here): the base image's
/// Swift can build every dependency, and every long-running service is checked and restarted.
@Suite("Docker image and services")
struct DockerImageTests {
    static let root = ComposeFileTests.root

    static func version(_ text: some StringProtocol) -> [Int] { text.split(separator: ".").compactMap { Int($0) } }

    @Test func theBaseImagesSwiftBuildsEveryDependency() throws {
        let dockerfile = try String(contentsOf: Self.root.appendingPathComponent("docker/Dockerfile"), encoding: .utf8)
        let base = try #require(dockerfile.firstMatch(of: /FROM swift:([0-9]+\.[0-9]+)/)).output.1
        var manifests = [Self.root.appendingPathComponent("Package.swift")]
        let checkouts = Self.root.appendingPathComponent(".build/checkouts")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: checkouts.path)) ?? [] {
            manifests.append(checkouts.appendingPathComponent(name).appendingPathComponent("Package.swift"))
        }
        #expect(manifests.count > 10, "the dependencies are checked out (make test builds first)")
        for manifest in manifests {
            guard let text = try? String(contentsOf: manifest, encoding: .utf8),
                  let tools = text.firstMatch(of: /swift-tools-version:\s*([0-9]+\.[0-9]+)/)?.output.1 else { continue }
            #expect(Self.version(tools).lexicographicallyPrecedes(Self.version(base)) || Self.version(tools) == Self.version(base),
                    "\(manifest.deletingLastPathComponent().lastPathComponent) needs Swift \(tools); the image has \(base)")
        }
    }

    @Test func everyServiceRestartsAndIsCheckedAndTheArchivesAreWritable() throws {
        let docker = try ClusterConfig.load(path: Self.root.appendingPathComponent("docker/cluster.json").path)
        let compose = try #require(try Yams.load(yaml: try String(contentsOf: Self.root.appendingPathComponent("docker/compose.yaml"),
                                                                  encoding: .utf8)) as? [String: Any])
        let services = try #require(compose["services"] as? [String: [String: Any]])
        for (name, service) in services {
            let restart = try #require(service["restart"] as? String, "\(name) has no restart policy")
            // One-shots (migrations, Redis ACL files) run once; everything else is restarted and health-checked.
            if restart == "no" { #expect(name.hasPrefix("migrate-") || name.hasPrefix("redis-acl-"), "\(name) is not restarted"); continue }
            #expect((service["healthcheck"] as? [String: Any])?["test"] != nil, "\(name) has no healthcheck")
        }
        // Cells and edges are checked on the admin listener the config gives them.
        for (name, admin) in docker.cells.map({ ($0.name, $0.admin) }) + docker.edges.map({ ($0.name, $0.admin) }) {
            let port = try #require(admin?.port, "\(name) has no admin listener in docker/cluster.json")
            let test = ((services[name]?["healthcheck"] as? [String: Any])?["test"] as? [String])?.joined(separator: " ") ?? ""
            #expect(test.contains("/dev/tcp/127.0.0.1/\(port)") && test.contains("/healthz"), "\(name): \(test)")
        }
        let dockerfile = try String(contentsOf: Self.root.appendingPathComponent("docker/Dockerfile"), encoding: .utf8)
        // Each Redis takes its users from the ACL file its cell's one-shot writes before it starts.
        for cell in docker.cells {
            let redis = try #require(services[cell.redis.host])
            let acl = ((services["redis-acl-\(cell.name)"]?["entrypoint"] as? [String]) ?? []).joined(separator: " ")
            #expect(acl.contains("redis-acl --config /opt/concord/cluster.json --cell \(cell.name) > /var/lib/concord/redis-acl/users.acl"), "\(acl)")
            #expect(((redis["command"] as? [String]) ?? []).contains("/var/lib/concord/redis-acl/users.acl"))
            #expect((redis["volumes"] as? [String])?.contains("redis-acl-\(cell.name):/var/lib/concord/redis-acl:ro") == true)
            #expect(((redis["depends_on"] as? [String: Any])?["redis-acl-\(cell.name)"] as? [String: Any])?["condition"] as? String
                    == "service_completed_successfully")
        }
        #expect(dockerfile.contains("/var/lib/concord/redis-acl"), "the ACL volume's directory is the image user's")
        for cell in docker.cells {
            // The archive directory exists in the image, owned by its user, so the volume mounted
            // there is writable; the tier runs are scheduled beside the cell, on the same volume.
            #expect(dockerfile.contains(cell.archiveDirectory) && dockerfile.contains("chown -R concord /var/lib/concord"), "\(cell.name)")
            let tier = try #require(services["tier-\(cell.name)"], "no scheduled tier runs for \(cell.name)")
            #expect((tier["volumes"] as? [String])?.contains("archive-\(cell.name):\(cell.archiveDirectory)") == true)
            #expect(((tier["entrypoint"] as? [String]) ?? []).joined(separator: " ").contains("tier run --config /opt/concord/cluster.json --cell \(cell.name)"))
        }
    }
}
