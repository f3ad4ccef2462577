import ConcordAuth
@testable import ConcordCell
import ConcordModels
import ConcordRelay
import ConcordStorage
import ConcordTiering
import Foundation
import Testing

/// Cold tiering end to end: old buckets move to archive files and every page of history reads
/// the same before and after, across bucket and tier boundaries, with edits and deletions; a
/// crash at each step of a move loses and duplicates nothing; a damaged archive is a clear
/// error and an alert, never a silent hole.
@Suite("Message tiers")
struct TierTests {
    /// A workspace with 240 messages over the last 60 days (about six buckets), a few of them
    /// edited and deleted, so a 30-day policy archives roughly half.
    struct History {
        let c: TestCluster
        let token: String
        let channel: Snowflake
        let ids: [Snowflake]
        let deleted: Set<Snowflake>

        static func make(_ c: TestCluster) async throws -> History {
            let (aliceID, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "History")).decode(Guild.self)
            let channel = guild.system_channel_id!
            let generator = SnowflakeGenerator(cell: 1, process: 14)
            let start = Date().addingTimeInterval(-60 * 86_400)
            let ids = (0..<240).map { generator.next(now: start.addingTimeInterval(Double($0) * 60 * 86_400 / 240)) }
            try await c.domain.db.seedMessages(channelID: channel, workspaceID: guild.id, authorID: aliceID, ids: ids) { "old message \($0)" }
            for index in [3, 100, 200] {
                let edited = try await c.request(.PATCH, "/channels/\(channel)/messages/\(ids[index])", token: alice,
                                                 json: #"{"content":"edited \#(index)"}"#)
                #expect(edited.status == 200)
            }
            var deleted: Set<Snowflake> = []
            for index in [4, 120, 201] {
                #expect(try await c.request(.DELETE, "/channels/\(channel)/messages/\(ids[index])", token: alice).status == 204)
                deleted.insert(ids[index])
            }
            return History(c: c, token: alice, channel: channel, ids: ids, deleted: deleted)
        }

        func get(_ query: String) async throws -> (status: Int, json: JSONValue?) {
            let reply = try await c.request(.GET, "/channels/\(channel)/messages?\(query)", token: token)
            return (reply.status, reply.json)
        }

        /// Every page a client could ask for: the whole channel backwards and forwards in pages
        /// of 50, and `around` pages at both ends, in the middle and at a deleted message.
        func pages() async throws -> [String: JSONValue] {
            var pages: [String: JSONValue] = [:]
            var before: String? = nil
            for step in 0..<10 {
                let query = "limit=50" + (before.map { "&before=\($0)" } ?? "")
                let page = try await get(query)
                #expect(page.status == 200, "\(query): \(String(describing: page.json))")
                pages["backwards \(step)"] = page.json
                guard let items = page.json?.arrayValue, items.count == 50, let last = items.last?["id"]?.stringValue else { break }
                before = last
            }
            var after = "0"
            for step in 0..<10 {
                let page = try await get("limit=50&after=\(after)")
                pages["forwards \(step)"] = page.json
                guard let items = page.json?.arrayValue, items.count == 50, let first = items.first?["id"]?.stringValue else { break }
                after = first
            }
            for index in [0, 60, 119, 120, 121, 239] {
                pages["around \(index)"] = try await get("limit=25&around=\(ids[index])").json
            }
            return pages
        }

        /// The ids a backwards walk returns, oldest first: each message exactly once.
        func walkedIDs() async throws -> [Snowflake] {
            try await pages().filter { $0.key.hasPrefix("backwards") }.sorted { $0.key < $1.key }
                .flatMap { $0.value.arrayValue ?? [] }.compactMap { $0["id"]?.stringValue.flatMap(Snowflake.init) }.reversed()
        }

        var expectedIDs: [Snowflake] { ids.filter { !deleted.contains($0) } }

        /// Two neighbouring messages of 47–58 days ago in one 10-day bucket, so that an edit and a
        /// deletion of them touch one archive file wherever today's bucket boundaries fall (a
        /// boundary lies between a fixed pair for 6 hours of every 10 days).
        var oldNeighbours: (Snowflake, Snowflake) {
            let index = (10..<50).first { ids[$0].bucket == ids[$0 + 1].bucket } ?? 10
            return (ids[index], ids[index + 1])
        }
    }

    func mover(_ c: TestCluster) -> TierMover {
        TierMover(db: c.domain.db, store: DirectoryArchiveStore(directory: c.config.cells[0].archiveDirectory), cellName: c.cellName,
                  defaultDays: 30)
    }

    @Test func pagesReadTheSameBeforeAndAfterArchivingAndRestoring() async throws {
        try await TestCluster.with { c in
            let history = try await History.make(c)
            let before = try await history.pages()
            #expect(try await history.walkedIDs() == history.expectedIDs)

            let report = try await mover(c).run()
            #expect(report.rows > 80 && report.rows < 160, "about half the history is older than 30 days: \(report.rows)")
            let status = try await c.domain.db.tierStatus()
            #expect(status.coldRows == report.rows && status.copiedFiles == 0)
            #expect(status.warmRows > 0, "the newer half stays warm")
            #expect(try await history.pages() == before, "every page reads the same from the archives")

            // Writes to cold messages: an edit and a deletion, read over the file at once.
            let (coldID, goneID) = history.oldNeighbours
            let edit = try await c.request(.PATCH, "/channels/\(history.channel)/messages/\(coldID)", token: history.token,
                                           json: #"{"content":"edited while cold"}"#)
            #expect(edit.status == 200 && edit.json?["content"]?.stringValue == "edited while cold")
            #expect(try await c.request(.DELETE, "/channels/\(history.channel)/messages/\(goneID)", token: history.token).status == 204)
            #expect(try await c.request(.GET, "/channels/\(history.channel)/messages/\(goneID)", token: history.token).status == 404)
            let fetched = try await c.request(.GET, "/channels/\(history.channel)/messages/\(coldID)", token: history.token)
            #expect(fetched.json?["content"]?.stringValue == "edited while cold" && fetched.json?["edited_timestamp"] != nil)
            let afterWrites = try await history.pages()
            var expected = history.expectedIDs
            expected.removeAll { $0 == goneID }
            #expect(try await history.walkedIDs() == expected)

            // The next run folds them into a rewritten file; nothing a reader sees changes.
            let rewrite = try await mover(c).run()
            #expect(rewrite.rewritten == 1 && rewrite.files.isEmpty)
            #expect(try await c.domain.db.tierStatus().overrides == 0)
            #expect(try await history.pages() == afterWrites)
            #expect(try await mover(c).verifyAll().allSatisfy { $0.problem == nil })

            for bucket in Set(try await c.domain.db.archiveFiles().map(\.bucket)) {
                _ = try await mover(c).restore(bucket: bucket)
            }
            #expect(try await c.domain.db.tierStatus().coldRows == 0)
            #expect(try await history.pages() == afterWrites, "restored buckets read the same from PostgreSQL")
        }
    }

    /// `concordctl tier run` killed (SIGKILL) after each step of a move, then run again.
    @Test func aCrashAtAnyStepLosesAndDuplicatesNothing() async throws {
        try await TestCluster.with { c in
            let history = try await History.make(c)
            let before = try await history.pages()
            func tierRun(crashAfter step: TierMover.Step?) async throws -> Subprocess.Result { try await Self.tierRun(c, crashAfter: step) }
            for step in TierMover.Step.allCases {
                let crashed = try await tierRun(crashAfter: step)
                #expect(crashed.killedBySignal, "killed after \(step): \(crashed.log)")
                #expect(try await history.walkedIDs() == history.expectedIDs, "after a crash at \(step): every message once")
                #expect(try await history.pages() == before, "after a crash at \(step)")

                let rerun = try await tierRun(crashAfter: nil)
                #expect(rerun.status == 0, "the rerun finishes: \(rerun.log)")
                let status = try await c.domain.db.tierStatus()
                #expect(status.copiedFiles == 0 && status.coldRows > 0, "after \(step) and a rerun: \(status.coldRows) cold")
                #expect(try await history.pages() == before, "after \(step) and a rerun")
                let stored = try await DirectoryArchiveStore(directory: c.config.cells[0].archiveDirectory).list()
                #expect(Set(stored) == Set(try await c.domain.db.archiveFiles().map(\.name)), "no stray files after \(step)")

                for bucket in Set(try await c.domain.db.archiveFiles().map(\.bucket)) {
                    _ = try await mover(c).restore(bucket: bucket)
                }
            }
        }
    }

    /// `concordctl tier run` as a process, killed (SIGKILL) after `step` when one is given. The
    /// cell archives after 90 days; 60 days ahead, that is the same half as a 30-day policy today.
    static func tierRun(_ c: TestCluster, crashAfter step: TierMover.Step?) async throws -> Subprocess.Result {
        let configPath = TestServers.scratch + "/tier-\(c.cellName).json"
        try WireJSON.encode(c.config).write(to: URL(fileURLWithPath: configPath))
        let binary = TestServers.repositoryRoot.appendingPathComponent(".build/debug/concordctl").path
        var env = ProcessInfo.processInfo.environment
        env["CONCORD_PG_PASSWORD"] = TestServers.postgresPassword
        env["CONCORD_TIER_CRASH_AFTER"] = step?.rawValue
        return try await Subprocess.run(binary, ["tier", "run", "--config", configPath, "--ahead-days", "60"], environment: env,
                                        timeout: .seconds(60))
    }

    /// Edits and deletions made while a bucket is copied but still warm (here: after a run
    /// killed between its catalog and delete steps) were discarded by the delete: the archive
    /// kept the old text and deleted messages came back.
    @Test func editsAndDeletionsBetweenTheCopyAndItsCompletionAreKept() async throws {
        try await TestCluster.with { c in
            let history = try await History.make(c)
            let crashed = try await Self.tierRun(c, crashAfter: .catalog)
            #expect(crashed.killedBySignal, "\(crashed.log)")
            #expect(try await c.domain.db.tierStatus().copiedFiles > 0, "copied, not yet removed from PostgreSQL")
            let (edited, gone) = (history.ids[10], history.ids[11])
            let edit = try await c.request(.PATCH, "/channels/\(history.channel)/messages/\(edited)", token: history.token,
                                           json: #"{"content":"edited between copy and delete"}"#)
            #expect(edit.status == 200)
            #expect(try await c.request(.DELETE, "/channels/\(history.channel)/messages/\(gone)", token: history.token).status == 204)
            let expectedPages = try await history.pages()

            let rerun = try await Self.tierRun(c, crashAfter: nil)
            #expect(rerun.status == 0, "\(rerun.log)")
            // (The same run folds the overrides it recorded into a rewritten file.)
            let status = try await c.domain.db.tierStatus()
            #expect(status.copiedFiles == 0 && status.coldRows > 0 && status.overrides == 0, "\(status.coldRows) cold, \(status.overrides) overrides")
            // What the cell's metrics read: the finished run, what it archived, the files now cold.
            let operations = try await c.domain.db.operationsSummary()
            #expect(operations.tierRuns >= 1 && operations.tierArchivedRows > 0 && operations.tierLastRun != nil, "\(operations)")
            #expect(operations.coldFiles == Int64(status.coldFiles) && operations.coldBytes == status.coldBytes)
            let fetched = try await c.request(.GET, "/channels/\(history.channel)/messages/\(edited)", token: history.token)
            #expect(fetched.json?["content"]?.stringValue == "edited between copy and delete", "the edit is kept: \(fetched.text)")
            #expect(try await c.request(.GET, "/channels/\(history.channel)/messages/\(gone)", token: history.token).status == 404,
                    "the deleted message does not come back")
            #expect(try await history.pages() == expectedPages)
            #expect(try await mover(c).verifyAll().allSatisfy { $0.problem == nil })
        }
    }

    /// A shared channel's replica archives its own old buckets; edits and deletions relayed from
    /// the home afterwards go to the cold copies, as at home. They used to do nothing (a
    /// deletion) or put a second, warm copy beside the archived one (an edit).
    @Test func relayedChangesToArchivedReplicaRowsAreKept() async throws {
        try await TestCluster.with(cells: 2, edges: 2) { c in
            let history = try await History.make(c)
            let (_, bob) = try await c.register("bob", edge: 1)
            let away = try await c.request(.POST, "/guilds", token: bob, body: GuildCreateRequest(name: "Away"), edge: 1).decode(Guild.self)
            let share = try await c.concordctl(["channel", "share", history.channel.description, "--into", away.id.description])
            #expect(share.status == 0, "\(share.log)")
            let replica = c.domains[1]
            let replicaMover = TierMover(db: replica.db, store: DirectoryArchiveStore(directory: c.config.cells[1].archiveDirectory),
                                         cellName: c.config.cells[1].name, defaultDays: 30)
            let report = try await replicaMover.run()
            #expect(report.rows > 80, "the replica's old buckets are archived: \(report.rows)")
            let (edited, deleted) = (history.ids[10], history.ids[12])
            #expect(try await replica.db.message(channelID: history.channel, id: edited) == nil, "cold in the replica")

            let relay = CellTests.RelayRunner { Relay(config: c.config, destination: c.config.cells[1], internalSecret: c.secrets.internalSecret,
                                                      pollInterval: .milliseconds(20), logger: TestServers.logger) }
            relay.start()
            #expect(try await c.request(.PATCH, "/channels/\(history.channel)/messages/\(edited)", token: history.token,
                                        json: #"{"content":"edited at home"}"#).status == 200)
            #expect(try await c.request(.DELETE, "/channels/\(history.channel)/messages/\(deleted)", token: history.token).status == 204)
            try await eventually("the edit and the deletion reach the replica's cold copies") {
                let (now, gone) = (try await replica.history.message(history.channel, id: edited), try await replica.history.message(history.channel, id: deleted))
                return now?.record.content == "edited at home" && gone == nil
            }
            #expect(try await replica.db.message(channelID: history.channel, id: edited) == nil, "no warm copy beside the archived one")
            let seen = try await c.request(.GET, "/channels/\(history.channel)/messages/\(edited)", token: bob, edge: 1)
            #expect(seen.json?["content"]?.stringValue == "edited at home", "\(seen.text)")
            #expect(try await c.request(.GET, "/channels/\(history.channel)/messages/\(deleted)", token: bob, edge: 1).status == 404)
            await relay.stop()
        }
    }

    @Test func aCorruptOrMissingArchiveIsAClearErrorAndAnAlert() async throws {
        try await TestCluster.with { c in
            let history = try await History.make(c)
            _ = try await mover(c).run()
            let files = try await c.domain.db.archiveFiles(state: "cold")
            let oldest = try #require(files.first)
            let path = c.config.cells[0].archiveDirectory + "/" + oldest.name
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            bytes[bytes.count / 2] ^= 0xFF
            try bytes.write(to: URL(fileURLWithPath: path))

            let page = try await history.get("limit=50&after=0")
            #expect(page.status == 503, "a page inside the damaged file fails: \(String(describing: page.json))")
            #expect(page.json?["message"]?.stringValue?.contains(oldest.name) == true && page.json?["code"] != nil)
            let newest = try await history.get("limit=10")
            #expect(newest.status == 200, "pages that do not touch it still work")
            let status = try await c.domain.db.tierStatus()
            #expect(status.alerts.map(\.name) == [oldest.name], "tier status shows the alert")
            let verified = try await mover(c).verifyAll()
            #expect(verified.first { $0.name == oldest.name }?.problem?.contains("checksum") == true)
            #expect(verified.filter { $0.problem != nil }.count == 1)

            try FileManager.default.removeItem(atPath: path)
            #expect(try await mover(c).verifyAll().first { $0.name == oldest.name }?.problem?.contains("missing") == true)
        }
    }
}

/// The hot tier: pages served from Redis are byte-for-byte the pages the database gives, and
/// no page goes stale after a post, an edit or a deletion; concurrent reads of one page are
/// one database read.
@Suite("Hot tier")
struct HotTierTests {
    @Test func hotPagesMatchTheDatabaseAndNeverGoStale() async throws {
        try await TestCluster.with { c in
            let (aliceID, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Hot")).decode(Guild.self)
            let channel = guild.system_channel_id!
            var ids: [Snowflake] = []
            for i in 0..<30 {
                ids.append(try await c.request(.POST, "/channels/\(channel)/messages", token: alice,
                                               body: MessageCreateRequest(content: "hot \(i) <@\(aliceID)>")).decode(Message.self).id)
            }
            let stats = c.domain.stats
            func page(_ query: String) async throws -> String {
                let reply = try await c.request(.GET, "/channels/\(channel)/messages?\(query)", token: alice)
                #expect(reply.status == 200)
                return String(decoding: reply.body, as: UTF8.self)
            }
            /// The same page with the hot tier emptied first: what the database answers.
            func fromDatabase(_ query: String) async throws -> String {
                let keys = try await c.domain.redis.send("KEYS", "concord:\(c.cellName):hot:*").array?.compactMap(\.string) ?? []
                if !keys.isEmpty { _ = try await c.domain.redis.send(["DEL"] + keys) }
                return try await page(query)
            }
            func hits() -> Int { stats.hotHits.load(ordering: .relaxed) }

            let first = try await page("limit=20")
            let hitsBefore = hits()
            #expect(try await page("limit=20") == first, "the second read is served hot")
            #expect(hits() == hitsBefore + 1)
            #expect(try await page("limit=10&before=\(ids[20])") == (try await page("limit=10&before=\(ids[20])")))

            ids.append(try await c.request(.POST, "/channels/\(channel)/messages", token: alice,
                                           body: MessageCreateRequest(content: "newest")).decode(Message.self).id)
            let afterPost = try await page("limit=20")
            #expect(afterPost.contains("\"newest\""), "a post joins the hot list at once")
            #expect(hits() == hitsBefore + 4, "the list reaches the channel's start, so before-pages are hot too")
            #expect(afterPost == (try await fromDatabase("limit=20")), "hot JSON is exactly the database's")
            let older = try await page("limit=10&before=\(ids[25])")
            #expect(older == (try await fromDatabase("limit=10&before=\(ids[25])")))

            _ = try await page("limit=20")  // hot again
            _ = try await c.request(.PATCH, "/channels/\(channel)/messages/\(ids[29])", token: alice, json: #"{"content":"changed"}"#)
            let afterEdit = try await page("limit=20")
            #expect(afterEdit.contains("\"changed\"") && !afterEdit.contains("\"hot 29 "), "no stale page after an edit")
            _ = try await page("limit=20")
            #expect(try await c.request(.DELETE, "/channels/\(channel)/messages/\(ids[30])", token: alice).status == 204)
            let afterDelete = try await page("limit=20")
            #expect(!afterDelete.contains("\"newest\""), "no stale page after a deletion")
            #expect(afterDelete == (try await fromDatabase("limit=20")))
        }
    }

    @Test func aMessagePushedTwiceIsServedOnce() async throws {
        try await TestCluster.with { c in
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Twice")).decode(Guild.self)
            let channel = guild.system_channel_id!
            for i in 0..<5 {
                _ = try await c.request(.POST, "/channels/\(channel)/messages", token: alice, body: MessageCreateRequest(content: "twice \(i)"))
            }
            func page() async throws -> String {
                String(decoding: try await c.request(.GET, "/channels/\(channel)/messages?limit=20", token: alice).body, as: UTF8.self)
            }
            let fromDatabase = try await page()
            #expect(try await page() == fromDatabase)
            // The newest entry again at the head, as a post's late push after a fill that read it leaves it.
            let lists = try await c.domain.redis.send("KEYS", "concord:\(c.cellName):hot:[0-9]*:\(channel)").array?.compactMap(\.string) ?? []
            let list = try #require(lists.first)
            let newest = try #require(try await c.domain.redis.send("LINDEX", list, "0").string)
            // As a post's push does it: the channel's version moves too (pages kept in memory go).
            _ = try await c.domain.redis.send("INCR", "concord:\(c.cellName):hot:version:\(channel)")
            _ = try await c.domain.redis.send("LPUSH", list, newest)
            let hitsBefore = c.domain.stats.hotHits.load(ordering: .relaxed)
            #expect(try await page() == fromDatabase)
            #expect(c.domain.stats.hotHits.load(ordering: .relaxed) == hitsBefore + 1, "served from the hot list")
        }
    }

    @Test func concurrentReadsOfOnePageAreOneDatabaseRead() async throws {
        try await TestCluster.with { c in
            let (aliceID, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Storm")).decode(Guild.self)
            let channel = guild.system_channel_id!
            let generator = SnowflakeGenerator(cell: 1, process: 14)
            let ids = (0..<400).map { generator.next(now: Date().addingTimeInterval(Double($0 - 400))) }
            try await c.domain.db.seedMessages(channelID: channel, workspaceID: guild.id, authorID: aliceID, ids: ids) { "storm \($0)" }
            let claims = try #require(TokenAuthority(secret: c.secrets.tokenSecret).verify(alice))
            let caller = Caller(userID: aliceID, tokenID: claims.tokenID, isBot: false)
            let readsBefore = c.domain.stats.historyReads.load(ordering: .relaxed)
            // Older than the hot list: every one of these must come from the database.
            let pages = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<200 {
                    group.addTask { try await c.domain.messages(channel, caller: caller, page: .before(ids[100]), limit: 50) }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            let reads = c.domain.stats.historyReads.load(ordering: .relaxed) - readsBefore
            #expect(Set(pages).count == 1 && pages[0].contains("\"storm 99\""))
            #expect(reads >= 1 && reads <= 20, "200 concurrent readers cost \(reads) database reads")

            // A reader just after gets the page read at the same version; a post moves the version.
            let readsAfterStorm = c.domain.stats.historyReads.load(ordering: .relaxed)
            #expect(try await c.domain.messages(channel, caller: caller, page: .before(ids[100]), limit: 50) == pages[0])
            #expect(c.domain.stats.historyReads.load(ordering: .relaxed) == readsAfterStorm)
            _ = try await c.domain.createMessage(channel, MessageCreateRequest(content: "news"), caller: caller)
            #expect(try await c.domain.messages(channel, caller: caller, page: .before(ids[100]), limit: 50) == pages[0])
            #expect(c.domain.stats.historyReads.load(ordering: .relaxed) == readsAfterStorm + 1, "read again after a change")
        }
    }
}
