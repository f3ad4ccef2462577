import ConcordModels
import ConcordStorage
import Foundation
import PostgresNIO
import Testing

/// `concordctl workspace export` and `import`: a workspace written to a file, deleted, and
/// read back into the other cell comes back whole, and is used there as before.
@Suite("Workspace export and import")
struct WorkspaceExportTests {
    @Test func aWorkspaceExportedDeletedAndImportedElsewhereComesBackWhole() async throws {
        try await TestCluster.with(cells: 2, edges: 2) { c in
            let pair = try await c.workspaceOfTwo("Kept", owner: "alice", member: "bob")
            let guild = pair.guild.id
            let side = try await c.request(.POST, "/guilds/\(guild)/channels", token: pair.owner.1, json: #"{"name":"side"}"#).decode(GuildChannel.self)
            for i in 0..<25 {
                let channel = i % 2 == 0 ? pair.general : side.id
                #expect(try await c.request(.POST, "/channels/\(channel)/messages", token: i % 3 == 0 ? pair.member.1 : pair.owner.1,
                                            body: MessageCreateRequest(content: "message \(i) \u{1F600} \"quoted\"\ttabbed\nline\r\\N back\\slash \\t")).status == 200)
            }
            let role = try await c.request(.POST, "/guilds/\(guild)/roles", token: pair.owner.1, json: #"{"name":"keepers"}"#)
            #expect(role.status == 200)
            let before = try await c.domains[0].db.workspaceFingerprint(guild)
            let pages = try await c.request(.GET, "/channels/\(pair.general)/messages?limit=100", token: pair.member.1).text

            let file = TestServers.scratch + "/export-\(guild).concord"
            let exported = try await c.concordctl(["workspace", "export", guild.description, "--file", file, "--json"])
            #expect(exported.status == 0, "\(exported.log)")
            // Deleted, then brought back into the other cell.
            #expect(try await c.concordctl(["workspace", "delete", guild.description, "--yes"]).status == 0)
            #expect(try await c.request(.GET, "/guilds/\(guild)", token: pair.owner.1).status == 404)
            // A cut-off file is refused and changes nothing.
            let whole = try String(contentsOfFile: file, encoding: .utf8)
            let cut = TestServers.scratch + "/export-cut-\(guild).concord"
            try String(whole.split(separator: "\n").dropLast().joined(separator: "\n")).write(toFile: cut, atomically: true, encoding: .utf8)
            let refused = try await c.concordctl(["workspace", "import", "--file", cut, "--cell", c.config.cells[1].name])
            #expect(refused.status != 0 && refused.log.contains("cut off"), "\(refused.log)")
            #expect(try await c.domains[1].db.workspace(id: guild) == nil)
            // So is a file whose rows name a column the table does not have (the names go into SQL).
            let forged = TestServers.scratch + "/export-forged-\(guild).concord"
            #expect(whole.contains(#""columns":["id","#))
            try whole.replacing(#""columns":["id","#, with: #""columns":["id\\\" FROM users; --","#)
                .write(toFile: forged, atomically: true, encoding: .utf8)
            let forgedRefused = try await c.concordctl(["workspace", "import", "--file", forged, "--cell", c.config.cells[1].name])
            #expect(forgedRefused.status != 0 && forgedRefused.log.contains("columns it does not have"), "\(forgedRefused.log)")
            #expect(try await c.domains[1].db.workspace(id: guild) == nil)

            let statisticsBefore = try await c.domains[1].db.lastAnalyzed([.members, .messages])
            let imported = try await c.concordctl(["workspace", "import", "--file", file, "--cell", c.config.cells[1].name, "--json"])
            #expect(imported.status == 0, "\(imported.log)")
            // Taken in bulk, as a move's rows: the cell gathered statistics for them at once.
            let statistics = try await c.domains[1].db.lastAnalyzed([.members, .messages])
            for table in [MovedTable.members, .messages] {
                #expect(statistics[table].map { at in statisticsBefore[table].map { at > $0 } ?? true } == true, "\(table) analyzed by the import")
            }
            #expect(try await c.domains[1].db.workspaceFingerprint(guild) == before, "every channel's messages, members, read states, invites")
            let again = try await c.concordctl(["workspace", "import", "--file", file, "--cell", c.config.cells[0].name])
            #expect(again.status != 0 && again.log.contains("exists in this cluster"), "\(again.log)")

            // Through the edges: the same pages, its roles, and new messages land in its new home.
            try await eventually("the edges route to its new home") {
                try await c.request(.GET, "/channels/\(pair.general)/messages?limit=100", token: pair.member.1, edge: 1).status == 200
            }
            for edge in [0, 1] {
                #expect(try await c.request(.GET, "/channels/\(pair.general)/messages?limit=100", token: pair.member.1, edge: edge).text == pages)
            }
            let roles = try await c.request(.GET, "/guilds/\(guild)/roles", token: pair.owner.1).decode([Role].self)
            #expect(roles.contains { $0.name == "keepers" })
            let posted = try await c.request(.POST, "/channels/\(side.id)/messages", token: pair.owner.1, body: MessageCreateRequest(content: "after"))
            #expect(posted.status == 200, "\(posted.text)")
            #expect(try await c.domains[1].db.workspaceFingerprint(guild) != before)
        }
    }

    /// A file written before exports became COPY text (version 1: each table's rows as one JSON
    /// array on its header's line) still imports whole. Written here as version 1 wrote it.
    @Test func aVersionOneExportStillImports() async throws {
        try await TestCluster.with(cells: 2, edges: 1) { c in
            let pair = try await c.workspaceOfTwo("Old file")
            let guild = pair.guild.id
            for i in 0..<12 {
                #expect(try await c.request(.POST, "/channels/\(pair.general)/messages", token: i % 2 == 0 ? pair.owner.1 : pair.member.1,
                                            body: MessageCreateRequest(content: "old \(i)\ttab")).status == 200)
            }
            let db = c.domains[0].db
            let before = try await db.workspaceFingerprint(guild)
            let channels = try await db.workspaceChannelIDs(guild).map(String.init).joined(separator: ",")
            let (ws, inChannels) = ("workspace_id = \(guild.int64)", "channel_id IN (\(channels))")
            var lines = [#"{"concord_workspace_export":1,"workspace":"\#(guild)","source_cell":1,"exported_at":"2026-12-01T00:00:00.000000+00:00"}"#]
            for (table, filter) in [("users", "id IN (SELECT user_id FROM members WHERE \(ws))"), ("workspaces", "id = \(guild.int64)"),
                                    ("roles", ws), ("channels", ws), ("invites", ws), ("members", ws), ("member_roles", ws),
                                    ("messages", inChannels), ("read_states", inChannels)] {
                let select = table == "users"
                    ? "SELECT id, username, global_name, avatar, bot, NULL::bigint AS owner_id, NULL::text AS password_hash, created_at, 1 AS home_cell FROM users"
                    : "SELECT * FROM \(table)"
                let row = try #require(try await db.run(PostgresQuery(unsafeSQL: """
                    SELECT COALESCE(json_agg(t), '[]')::text, count(*)::int, \(table == "messages" ? "COALESCE(array_agg(DISTINCT bucket), '{}')" : "'{}'::int4[]")
                    FROM (\(select) WHERE \(filter)) t
                    """)).first)
                let (json, count, buckets) = try row.decode((String, Int, [Int32]).self)
                guard count > 0 else { continue }
                lines.append(#"{"table":"\#(table)","count":\#(count),"buckets":\#(buckets)}"# + "\t" + json.replacing("\n", with: ""))
            }
            lines.append(#"{"end":true,"lines":\#(lines.count)}"#)
            let file = TestServers.scratch + "/export-v1-\(guild).concord"
            try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)

            #expect(try await c.concordctl(["workspace", "delete", guild.description, "--yes"]).status == 0)
            let imported = try await c.concordctl(["workspace", "import", "--file", file, "--cell", c.config.cells[1].name])
            #expect(imported.status == 0, "\(imported.log)")
            #expect(try await c.domains[1].db.workspaceFingerprint(guild) == before, "every message, member, read state and invite")
        }
    }
}
