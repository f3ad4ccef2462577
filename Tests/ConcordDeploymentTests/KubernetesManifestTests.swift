import ConcordModels
import Foundation
import Testing
import Yams

/// The Kubernetes manifests, rendered from infra/deployment.json by infra/render.py into a
/// scratch directory (no cluster here): they agree with the cluster config they carry, validate
/// against Kubernetes' and the operators' schemas, and pass checkov with every skip explained.
@Suite("Kubernetes manifests")
struct KubernetesManifestTests {
    static let root = ComposeFileTests.root

    struct Rendered {
        var directory: URL
        /// Every resource by region, in file order.
        var resources: [String: [[String: Any]]]
        var config: ClusterConfig

        func resource(_ region: String, _ kind: String, _ name: String) -> [String: Any]? {
            resources[region]?.first { $0["kind"] as? String == kind && ($0["metadata"] as? [String: Any])?["name"] as? String == name }
        }
    }

    static func run(_ arguments: [String], python: String = "/usr/bin/python3") throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        process.currentDirectoryURL = root
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    static func render() throws -> Rendered {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("concord-k8s-\(UUID().uuidString)")
        let result = try run(["infra/render.py", "--out", directory.path])
        #expect(result.status == 0, "render.py failed: \(result.output)")
        var resources: [String: [[String: Any]]] = [:]
        for region in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() {
            let regionDirectory = directory.appendingPathComponent(region)
            for file in try FileManager.default.contentsOfDirectory(atPath: regionDirectory.path).sorted() where file != "kustomization.yaml" {
                let text = try String(contentsOf: regionDirectory.appendingPathComponent(file), encoding: .utf8)
                for document in try Yams.load_all(yaml: text) {
                    resources[region, default: []].append(try #require(document as? [String: Any]))
                }
            }
        }
        // The config every process reads is the ConfigMap's, the same in every region.
        var texts = Set<String>()
        for region in resources.keys {
            let map = try #require(resources[region]?.first { $0["kind"] as? String == "ConfigMap" })
            texts.insert(try #require((map["data"] as? [String: String])?["cluster.json"]))
        }
        #expect(texts.count == 1, "regions carry different cluster configs")
        let file = directory.appendingPathComponent("cluster.json")
        try Data(try #require(texts.first).utf8).write(to: file)
        return Rendered(directory: directory, resources: resources, config: try ClusterConfig.load(path: file.path))
    }

    static func containers(_ workload: [String: Any]) -> [[String: Any]] {
        var spec = workload["spec"] as? [String: Any] ?? [:]
        if let job = (spec["jobTemplate"] as? [String: Any])?["spec"] as? [String: Any] { spec = job }
        let pod = (spec["template"] as? [String: Any])?["spec"] as? [String: Any] ?? [:]
        return (pod["containers"] as? [[String: Any]] ?? []) + (pod["initContainers"] as? [[String: Any]] ?? [])
    }

    static func port(_ probe: Any?, in container: [String: Any]) -> Int? {
        guard let name = ((probe as? [String: Any])?["httpGet"] as? [String: Any])?["port"] as? String else { return nil }
        return (container["ports"] as? [[String: Any]])?.first { $0["name"] as? String == name }?["containerPort"] as? Int
    }

    @Test func everyRegionRunsItsCellsEdgesAndRelaysAsTheConfigSays() throws {
        let rendered = try Self.render()
        defer { try? FileManager.default.removeItem(at: rendered.directory) }
        let config = rendered.config
        #expect(Set(rendered.resources.keys) == Set(config.regions) && config.regions.count == 2)
        for cell in config.cells {
            let region = cell.region
            // PostgreSQL from the operator: the cell dials its read-write service over verified TLS.
            #expect(rendered.resource(region, "Cluster", String(cell.postgres.host.dropLast("-rw".count))) != nil, "\(cell.name): no CNPG Cluster")
            #expect(cell.postgres.host.hasSuffix("-rw") && cell.postgres.tls == "verify-full")
            let pgCert = try #require(rendered.resource(region, "Certificate", "\(cell.postgres.host.dropLast(3))-server"))
            #expect(((pgCert["spec"] as? [String: Any])?["dnsNames"] as? [String])?.contains(cell.postgres.host) == true)
            // Redis: a StatefulSet behind the service the config names, TLS on the port it names.
            #expect(rendered.resource(region, "StatefulSet", cell.redis.host) != nil && cell.redis_tls == true)
            let redisService = try #require(rendered.resource(region, "Service", cell.redis.host))
            #expect(((redisService["spec"] as? [String: Any])?["ports"] as? [[String: Any]])?.first?["port"] as? Int == cell.redis.port)
            // The cell and its relay, probed on the admin listeners the config gives them.
            let deployment = try #require(rendered.resource(region, "Deployment", cell.name))
            let process = try #require(Self.containers(deployment).first { $0["name"] as? String == "cell" })
            #expect(Self.port(process["readinessProbe"], in: process) == cell.admin?.port)
            #expect((process["ports"] as? [[String: Any]])?.contains { $0["containerPort"] as? Int == cell.api.port } == true)
            #expect(rendered.resource(region, "Service", cell.api.host) != nil, "\(cell.name) is dialled at \(cell.api.host)")
            let relay = try #require(rendered.resource(region, "Deployment", "relay-\(cell.name)"))
            let relayProcess = try #require(Self.containers(relay).first)
            #expect(Self.port(relayProcess["livenessProbe"], in: relayProcess) == cell.relay_admin?.port)
            // Archives on a claim mounted where the config puts them; tier runs on the same claim.
            let tier = try #require(rendered.resource(region, "CronJob", "tier-\(cell.name)"))
            for workload in [deployment, tier] {
                let mounts = Self.containers(workload).flatMap { $0["volumeMounts"] as? [[String: Any]] ?? [] }
                #expect(mounts.contains { cell.archiveDirectory.hasPrefix(($0["mountPath"] as? String ?? "?") + "/") && $0["name"] as? String == "data" },
                        "\(cell.name): the archive directory is on no volume")
            }
            #expect(rendered.resource(region, "PersistentVolumeClaim", "\(cell.name)-data") != nil)
            // Every other region reaches the cell through a link the cell's certificate names.
            let cellCert = try #require(rendered.resource(region, "Certificate", "\(cell.name)-internal"))
            let names = ((cellCert["spec"] as? [String: Any])?["dnsNames"] as? [String]) ?? []
            for other in config.regions where other != region {
                #expect(names.contains(cell.api(from: other).host), "\(cell.name) from \(other)")
                #expect(rendered.resource(region, "Service", "\(cell.name)-link") != nil)
            }
        }
        for region in config.regions {
            // The region's edges are one StatefulSet whose pods carry the edges' names.
            let edges = config.edges.filter { $0.region == region }
            let set = try #require(rendered.resource(region, "StatefulSet", "edge-\(region)"))
            #expect((set["spec"] as? [String: Any])?["replicas"] as? Int == edges.count)
            #expect(edges.map(\.name) == edges.indices.map { "edge-\(region)-\($0)" })
            #expect(edges.allSatisfy { $0.tls != nil && $0.public_url.hasPrefix("https://") })
            #expect(rendered.resource(region, "PodDisruptionBudget", "edge-\(region)") != nil)
            // Only edges are public: one policy denies everything, the others open what is needed.
            let policies = rendered.resources[region, default: []].filter { $0["kind"] as? String == "NetworkPolicy" }
            #expect(policies.contains { ($0["metadata"] as? [String: Any])?["name"] as? String == "default-deny" })
            let publicServices = rendered.resources[region, default: []].filter {
                $0["kind"] as? String == "Service" && ($0["spec"] as? [String: Any])?["type"] as? String == "LoadBalancer"
                    && ($0["spec"] as? [String: Any])?["loadBalancerSourceRanges"] == nil
            }
            #expect(publicServices.compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String } == ["edge-\(region)"])
        }
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["CONCORD_TEST_INFRA_PYTHON"] != nil,
                   "needs kubernetes-validate and checkov (make test installs them)"))
    func theManifestsValidateAndPassTheSecurityChecks() throws {
        let rendered = try Self.render()
        defer { try? FileManager.default.removeItem(at: rendered.directory) }
        let python = ProcessInfo.processInfo.environment["CONCORD_TEST_INFRA_PYTHON"]!
        let crds = Self.root.deletingLastPathComponent().appendingPathComponent("shared/k8s-crds").path
        let result = try Self.run(["infra/check.py", "--manifests", rendered.directory.path, "--crds", crds, "--dockerfile", "docker/Dockerfile"],
                                 python: python)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any], "\(result.output)")
        #expect(report["schema_errors"] as? [String] == [], "\(report["schema_errors"] ?? "")")
        let checkov = try #require(report["checkov"] as? [String: Any])
        #expect((checkov["failed"] as? [Any])?.isEmpty == true, "\(checkov["failed"] ?? "")")
        #expect((checkov["unexplained_skips"] as? [Any])?.isEmpty == true, "\(checkov["unexplained_skips"] ?? "")")
        #expect((checkov["passed"] as? Int ?? 0) > 100)
        let total = rendered.resources.values.map(\.count).reduce(0, +)
        #expect((report["resources"] as? [String])?.count == total, "every rendered resource was checked")
        #expect(result.status == 0)
    }
}
