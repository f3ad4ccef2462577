import ArgumentParser
import ConcordModels
import ConcordStorage

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Applies pending migrations to every cell (or --cell).")
    @OptionGroup var options: CellOptions

    @Option(help: "The folder of numbered SQL migrations.")
    var migrations: String = Migrator.defaultDirectory()

    func run() async throws {
        let cells = try options.selectedCells()
        let migrator = Migrator(directory: migrations)
        let progress = ProgressLine(json: options.json)
        for cell in cells {
            let applied = try await withDatabase(cell) { db in
                try await migrator.migrate(db) { progress.update("migrating \(cell.name)", done: $0, total: $1, $2) }
            }
            progress.end()
            try report(options.json, Applied(cell: cell.name, applied: applied)) {
                print("\(cell.name): " + (applied.isEmpty ? "up to date" : "applied \(applied.joined(separator: ", "))"))
            }
        }
    }
}

struct Applied: Encodable {
    var cell: String
    var applied: [String]
}
