import Foundation

/// The certificates of a test cluster's processes, made by `scripts/tls.sh` (openssl) as `make
/// run` makes them, signed by the CA of the test servers (`make test`'s PostgreSQL and Redis
/// take TLS with a certificate of it), or by a CA of their own.
struct TestCertificates: Sendable {
    let directory: String
    var ca: String { directory + "/ca.pem" }

    struct Failed: Error, CustomStringConvertible { let description: String }

    static func make(_ name: String, ownCA: Bool = false) async throws -> TestCertificates {
        let certificates = TestCertificates(directory: TestServers.scratch + "/tls-\(name)")
        if !ownCA, let servers = TestServers.tlsDirectory {
            try FileManager.default.createDirectory(atPath: certificates.directory, withIntermediateDirectories: true)
            for file in ["ca.pem", "ca-key.pem"] {
                try FileManager.default.copyItem(atPath: servers + "/" + file, toPath: certificates.directory + "/" + file)
            }
        }
        try await certificates.run(["ca", certificates.directory])
        return certificates
    }

    /// A certificate and key for the process `name` (`{name}.pem`, `{name}-key.pem`).
    func issue(_ name: String) async throws {
        try await run(["cert", directory, name])
    }

    /// Another CA, for certificates the cluster must refuse.
    func stranger() async throws -> TestCertificates {
        try await Self.make(URL(fileURLWithPath: directory).lastPathComponent + "-stranger", ownCA: true)
    }

    private func run(_ arguments: [String]) async throws {
        let script = TestServers.repositoryRoot.appendingPathComponent("scripts/tls.sh").path
        let result = try await Subprocess.run("/bin/bash", [script] + arguments, timeout: .seconds(30))
        guard result.status == 0 else { throw Failed(description: "tls.sh \(arguments.joined(separator: " ")) failed: \(result.log)") }
    }
}
