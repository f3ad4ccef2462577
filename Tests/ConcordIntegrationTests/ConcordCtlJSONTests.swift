import ConcordModels
import ConcordStorage
import Foundation
import Testing

/// The operator's tool answers scripts: with `--json`, every command prints JSON only (one
/// document, or one JSON line per fact as it comes), never a table or a sentence.
@Suite("concordctl --json")
struct ConcordCtlJSONTests {
    /// Each non-empty line of a `--json` run, parsed; a line that is not JSON fails the test.
    static func facts(_ result: Subprocess.Result, _ command: [String]) -> [JSONValue] {
        #expect(result.status == 0, "\(command.joined(separator: " ")): \(result.log)")
        let text = result.log.trimmingCharacters(in: .whitespacesAndNewlines)
        // A pretty-printed document spans lines; JSON lines are one per line.
        if let whole = try? WireJSON.decode(JSONValue.self, from: Data(text.utf8)) { return [whole] }
        return text.split(separator: "\n").compactMap { line in
            let value = try? WireJSON.decode(JSONValue.self, from: Data(line.utf8))
            #expect(value != nil, "\(command.joined(separator: " ")) printed a line that is not JSON: \(line)")
            return value
        }
    }

    @Test func everyCommandPrintsJSONWhenAsked() async throws {
        try await TestCluster.with(cells: 2) { c in
            let pair = try await c.workspaceOfTwo("Scripted", owner: "carol", member: "dave")
            let workspace = pair.guild.id.description, user = pair.member.id.description
            func run(_ command: [String]) async throws -> [JSONValue] {
                Self.facts(try await c.concordctl(command + ["--json"]), command)
            }

            let migrating = try await run(["migrate"])
            let migrated = migrating.filter { $0["progress"] == nil }
            #expect(migrated.count == 2 && migrated.allSatisfy { $0["applied"]?.arrayValue?.isEmpty == true }, "both cells up to date")
            // Progress: each migration of each cell as it is looked at, with the count of all.
            let migrationSteps = migrating.filter { $0["progress"] != nil }
            let count = try Migrator(directory: TestServers.migrationsDirectory).migrations().count
            #expect(migrationSteps.count == 2 * count && migrationSteps.allSatisfy { $0["total"]?.intValue == Int64(count) }, "\(migrationSteps.prefix(3))")
            let lags = try await run(["outbox", "status"])
            #expect(lags.count == 2 && lags.allSatisfy { $0["lag_rows"]?.intValue != nil })
            let removed = try await run(["member", "remove", workspace, user])
            #expect(removed.first?["removed"] == .bool(true))
            let added = try await run(["member", "add", workspace, user])
            #expect(added.first?["added"] == .bool(true))
            let policy = try await run(["tier", "policy", "--workspace", workspace, "--days", "30", "--cell", c.config.cells[0].name])
            #expect(policy.first?["cold_after_days"]?.intValue == 30)
            let tierRun = try await run(["tier", "run", "--dry-run"])
            #expect(tierRun.filter { $0["progress"] == nil }.count == 2)
            #expect(tierRun.filter { $0["progress"] == nil }.allSatisfy { $0["dry_run"] == .bool(true) && $0["files"]?.arrayValue != nil })

            // A long run reports each bucket as it goes, then what it did.
            let history = try await TierTests.History.make(c)
            let archived = try await run(["tier", "run", "--ahead-days", "60", "--cell", c.config.cells[0].name])
            let steps = archived.filter { $0["progress"] != nil }
            #expect(!steps.isEmpty && steps.last?["done"] == steps.last?["total"], "\(steps)")
            #expect((archived.last?["rows"]?.intValue ?? 0) > 0 && archived.last?["progress"] == nil)
            #expect(try await history.walkedIDs() == history.expectedIDs)
            let status = try await run(["tier", "status"])
            #expect(status.count == 2 && status.allSatisfy { $0["warm_rows"]?.intValue != nil && $0["alerts"]?.arrayValue?.isEmpty == true })
            #expect(try await run(["tier", "verify"]).allSatisfy { $0["problem"]?.stringValue == "ok" })
            let cells = try await run(["cell", "status"])
            #expect(cells.first?.arrayValue?.count == 2)
            let listed = try await run(["workspace", "list", "--cell", c.config.cells[0].name])
            #expect(listed.first?.arrayValue?.contains { $0["guild"]?["id"]?.stringValue == workspace } == true)
        }
    }
}
