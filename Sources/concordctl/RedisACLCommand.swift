import ArgumentParser
import ConcordModels
import ConcordStorage
import Foundation

/// Writes a cell's Redis ACL file: the default user (operators, probes) and one user per role
/// (`RedisRole`) with only its commands, keys and channels. Passwords come from the environment
/// and go into the file as SHA-256 hashes, so the file reveals none of them.
struct RedisACLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "redis-acl",
        abstract: "Prints a cell's Redis ACL file (redis-server --aclfile) from CONCORD_REDIS_PASSWORD and CONCORD_REDIS_{EDGE,CELL,RELAY}_PASSWORD.")
    @OptionGroup var options: CellOptions

    func run() throws {
        let cluster = try ClusterConfig.load(path: options.config)
        guard let cell = options.cell.map({ cluster.cell(named: $0) }) ?? cluster.cells.first else { throw ValidationError("no such cell") }
        let file = try Self.file(cell: cell.name, environment: ProcessInfo.processInfo.environment)
        try report(options.json, ["cell": cell.name, "acl": file]) { print(file, terminator: "") }
    }

    static func file(cell: String, environment: [String: String]) throws -> String {
        guard let admin = environment["CONCORD_REDIS_PASSWORD"], !admin.isEmpty else {
            throw ValidationError("CONCORD_REDIS_PASSWORD must be set: it is the default user's, which operators and probes use")
        }
        func hash(_ password: String) -> String { "#" + ArchiveCompression.sha256(Data(password.utf8)) }
        var lines = ["user default on \(hash(admin)) ~* &* +@all"]
        let passwords = ClusterSecrets.redisRolePasswords(environment)
        for role in RedisRole.allCases {
            guard let password = passwords[role] else { throw ValidationError("\(role.passwordVariable) must be set") }
            lines.append((["user", role.user] + role.rules(cells: [cell]) + [hash(password)]).joined(separator: " "))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
