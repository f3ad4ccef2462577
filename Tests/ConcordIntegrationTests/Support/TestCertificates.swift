import Foundation

/// A CA of a test cluster's own and the certificates it issues, made by `scripts/tls.sh`
/// (openssl), as `make run` makes them.
struct TestCertificates: Sendable {
    let directory: String
    var ca: String { directory + "/ca.pem" }

    struct Failed: Error, CustomStringConvertible { let description: String }

    static func make(_ name: String) async throws -> TestCertificates {
        let certificates = TestCertificates(directory: TestServers.scratch + "/tls-\(name)")
        try await certificates.run(["ca", certificates.directory])
        return certificates
    }

    /// A certificate and key for the process `name` (`{name}.pem`, `{name}-key.pem`).
    func issue(_ name: String) async throws {
        try await run(["cert", directory, name])
    }

    /// Another CA, for certificates the cluster must refuse.
    func stranger() async throws -> TestCertificates {
        try await Self.make(URL(fileURLWithPath: directory).lastPathComponent + "-stranger")
    }

    private func run(_ arguments: [String]) async throws {
        let script = TestServers.repositoryRoot.appendingPathComponent("scripts/tls.sh").path
        let result = try await Subprocess.run("/bin/bash", [script] + arguments, timeout: .seconds(30))
        guard result.status == 0 else { throw Failed(description: "tls.sh \(arguments.joined(separator: " ")) failed: \(result.log)") }
    }
}
