import ConcordModels
@testable import ConcordStorage
import Foundation
import Testing

/// The PostgreSQL stores against a real server.
@Suite("Storage")
struct StorageTests {
    let ids = SnowflakeGenerator(cell: 3)

    /// A user, a workspace with one text channel, and the user as a member.
    func seed(_ db: Database) async throws -> (User, WorkspaceRecord, GuildChannel) {
        let user = User(id: ids.next(), username: "u\(UInt32.random(in: 0...UInt32.max))", globalName: "U", bot: false)
        #expect(try await db.insertUser(user, passwordHash: nil, ownerID: nil))
        let ws = WorkspaceRecord(id: ids.next(), name: "W", description: nil, ownerID: user.id, systemChannelID: nil, createdAt: Date())
        try await db.insertWorkspace(ws)
        let channel = GuildChannel(id: ids.next(), type: .guildText, guildID: ws.id, name: "general", topic: "t", position: 0,
                                   parentID: nil, nsfw: false, lastMessageID: nil)
        try await db.insertChannel(channel)
        _ = try await db.insertMember(workspaceID: ws.id, userID: user.id)
        return (user, ws, channel)
    }

    func record(_ id: Snowflake, channel: GuildChannel, author: User, content: String) -> MessageRecord {
        MessageRecord(id: id, channelID: channel.id, workspaceID: channel.guild_id, author: author, authorMember: nil, type: 0,
                      content: content, tts: false, mentionEveryone: false, mentionIDs: [], embedsJSON: "[]", componentsJSON: "[]",
                      nonceJSON: nil, flags: 0, pinned: false, referenceMessageID: nil, referenceChannelID: nil,
                      referenceGuildID: nil, editedAt: nil)
    }

    func insert(_ db: Database, _ r: MessageRecord) async throws {
        try await db.ensureMessagePartition(bucket: r.id.bucket)
        _ = try await db.insertMessage(r, authorID: r.author.id, event: PendingEvent(type: "MESSAGE_CREATE", guildID: r.workspaceID,
                                                                                channelID: r.channelID, payload: #"{"id":"\#(r.id)"}"#))
    }

    @Test func migrationsAreRecordedAndIdempotent() async throws {
        try await TestServers.withMigratedDatabase { db in
            let versions = try await Migrator.appliedVersions(db)
            let files = try FileManager.default.contentsOfDirectory(atPath: TestServers.migrationsDirectory).filter { $0.hasSuffix(".sql") }
            #expect(versions == Array(1...files.count), "every numbered migration applied once, in order")
            #expect(try await Migrator(directory: TestServers.migrationsDirectory).migrate(db).isEmpty)
        }
    }

    /// Migrations and every store work as the cells' own role, which is no superuser and can
    /// make no databases or roles (every integration suite runs as it).
    @Test func storesRunAsAnOrdinaryRole() async throws {
        try await TestServers.withMigratedDatabase { db in
            let row = try #require(try await db.run("SELECT current_user::text, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user").first)
            let (user, superuser, createsDatabases, createsRoles) = try row.decode((String, Bool, Bool, Bool).self)
            #expect(user == TestServers.cellRole && !superuser && !createsDatabases && !createsRoles)
            await #expect(throws: (any Error).self) { try await db.run("CREATE ROLE intruder SUPERUSER") }
        }
    }

    /// The server's default compiles a statement planned above its cost threshold with LLVM; the
    /// outbox sequencer's was, on every call (a fifth of PostgreSQL's CPU on the send path).
    @Test func statementsAreNeverCompiledJustInTime() async throws {
        try await TestServers.withMigratedDatabase { db in
            let server = try #require(try await db.run("SELECT boot_val FROM pg_settings WHERE name = 'jit'").first).decode(String.self)
            #expect(server == "on", "the server's own default, which the cell's connections override")
            let ours = try #require(try await db.run("SHOW jit").first).decode(String.self)
            #expect(ours == "off")
        }
    }

    @Test func sqlScriptsSplitOutsideQuotesAndBodies() {
        let sql = "CREATE TABLE a (x text DEFAULT ';'); -- c;\nDO $$ BEGIN PERFORM 1; END $$;\nSELECT 'it''s;'"
        #expect(SQLScript.statements(in: sql) == ["CREATE TABLE a (x text DEFAULT ';')", "DO $$ BEGIN PERFORM 1; END $$", "SELECT 'it''s;'"])
    }

    @Test func messageRoundTripsWithEveryField() async throws {
        try await TestServers.withMigratedDatabase { db in
            let (user, ws, channel) = try await seed(db)
            let original = record(ids.next(), channel: channel, author: user, content: "first")
            try await insert(db, original)
            var full = record(ids.next(), channel: channel, author: user, content: "hi <@\(user.id)> ✓ \u{0}")
            full.type = 19
            full.tts = true
            full.mentionEveryone = true
            full.mentionIDs = [user.id]
            full.embedsJSON = #"[{"title":"t","type":"rich","fields":[{"name":"n","value":"v","inline":true}]}]"#
            full.componentsJSON = #"[{"type":1,"components":[{"type":2,"label":"b","style":1,"custom_id":"c"}]}]"#
            full.nonceJSON = "12345678901234567890"
            full.flags = 4
            full.referenceMessageID = original.id
            full.referenceChannelID = channel.id
            full.referenceGuildID = ws.id
            full.content = "hi <@\(user.id)> ✓"
            try await insert(db, full)
            let read = try #require(try await db.message(channelID: channel.id, id: full.id))
            var expected = full
            expected.authorMember = try await db.member(workspaceID: ws.id, userID: user.id)
            // jsonb normalizes key order and spacing; compare the JSON values.
            #expect(try WireJSON.decode(JSONValue.self, from: Data(read.embedsJSON.utf8)) == WireJSON.decode(JSONValue.self, from: Data(full.embedsJSON.utf8)))
            #expect(try WireJSON.decode(JSONValue.self, from: Data(read.componentsJSON.utf8)) == WireJSON.decode(JSONValue.self, from: Data(full.componentsJSON.utf8)))
            expected.embedsJSON = read.embedsJSON
            expected.componentsJSON = read.componentsJSON
            #expect(read == expected)

            var edited = read
            edited.content = "edited"
            edited.editedAt = Date(timeIntervalSince1970: 1_700_000_000)
            _ = try await db.transaction { tx in
                try await tx.updateMessage(edited, event: PendingEvent(type: "MESSAGE_UPDATE", guildID: ws.id, channelID: channel.id, payload: "{}"))
            }
            let reread = try await db.message(channelID: channel.id, id: full.id)
            #expect(reread?.content == "edited")
            #expect(reread?.editedAt == edited.editedAt)
            #expect(try await db.deleteMessage(channelID: channel.id, id: full.id) != nil)
            #expect(try await db.deleteMessage(channelID: channel.id, id: full.id) == nil, "a second delete finds nothing")
            #expect(try await db.message(channelID: channel.id, id: full.id) == nil)
        }
    }

    @Test func paginationCrossesBuckets() async throws {
        try await TestServers.withMigratedDatabase { db in
            let (user, _, channel) = try await seed(db)
            let start = Date(timeIntervalSince1970: 1_700_000_000)
            // 6 messages 3 days apart span at least two 10-day buckets.
            var all: [Snowflake] = []
            let past = SnowflakeGenerator(cell: 3, process: 1)
            for i in 0..<6 {
                let id = past.next(now: start.addingTimeInterval(Double(i) * 3 * 86_400))
                all.append(id)
                try await insert(db, record(id, channel: channel, author: user, content: "m\(i)"))
            }
            #expect(Set(all.map(\.bucket)).count >= 2)
            let newestFirst = Array(all.reversed())
            #expect(try await db.messages(channelID: channel.id, page: .latest, limit: 100).map(\.id) == newestFirst)
            #expect(try await db.messages(channelID: channel.id, page: .latest, limit: 2).map(\.id) == Array(newestFirst.prefix(2)))
            #expect(try await db.messages(channelID: channel.id, page: .before(all[4]), limit: 3).map(\.id) == [all[3], all[2], all[1]])
            #expect(try await db.messages(channelID: channel.id, page: .after(all[1]), limit: 2).map(\.id) == [all[3], all[2]])
            #expect(try await db.messages(channelID: channel.id, page: .after(all[1]), limit: 100).map(\.id) == [all[5], all[4], all[3], all[2]])
            #expect(try await db.messages(channelID: channel.id, page: .around(all[3]), limit: 4).map(\.id) == [all[5], all[4], all[3], all[2]])
            #expect(try await db.messages(channelID: channel.id, page: .around(all[0]), limit: 3).map(\.id) == [all[1], all[0]])
            #expect(try await db.messagePartitionBuckets().count >= 2)
        }
    }

    @Test func outboxRowsCommitOrRollBackWithTheirChange() async throws {
        try await TestServers.withMigratedDatabase { db in
            let (user, ws, channel) = try await seed(db)
            let message = record(ids.next(), channel: channel, author: user, content: "once")
            try await insert(db, message)
            // Same primary key again: the statement fails, and its outbox row is not written either.
            await #expect(throws: (any Error).self) { try await insert(db, message) }
            struct Boom: Error {}
            await #expect(throws: Boom.self) {
                try await db.transaction { tx in
                    try await tx.insertChannel(GuildChannel(id: ids.next(), type: .guildText, guildID: ws.id, name: "x", topic: nil,
                                                            position: 1, parentID: nil, nsfw: false, lastMessageID: nil))
                    try await tx.insertEvent(PendingEvent(type: "CHANNEL_CREATE", guildID: ws.id, channelID: nil, payload: "{}"))
                    throw Boom()
                }
            }
            #expect(try await db.channels(workspaceID: ws.id).count == 1)
            // A cursor's move says whether committed rows await their numbers (the publisher then
            // runs the sequencer), and stops saying so once they have them.
            #expect(try await db.advanceCursor("storage-test", to: 0) == (head: 0, unsequenced: true))
            let sequenced = try await db.sequenceOutbox()
            #expect(sequenced.head == 1)
            #expect(try await db.advanceCursor("storage-test", to: 1) == (head: 1, unsequenced: false))
            let events = try await db.events(after: 0, limit: 10)
            #expect(events.map(\.event.type) == ["MESSAGE_CREATE"])
            // The pass hands over what it numbered, as a read of the outbox gives it.
            #expect(sequenced.events.map(\.seq) == [1])
            let whole = { (e: OutboxEvent) in OutboxEvent.wireJSON(seq: e.seq, event: e.event, requestID: true) }
            #expect(sequenced.events.map(whole) == events.map(whole))
            #expect(try await db.sequenceOutbox().events.isEmpty, "nothing new")
            #expect(try await db.channel(id: channel.id)?.last_message_id == message.id, "the sequencer keeps last_message_id")
        }
    }

    /// A batch of sends (group commit) writes what each would write alone: every message with
    /// its fields, their events in the batch's order, each mention counted once per message; a
    /// user and channel that several messages touch is one row, written once. The sequencer then
    /// moves each author's read state to their newest message, sequence and all.
    @Test func aBatchOfSendsWritesWhatEachWouldAlone() async throws {
        try await TestServers.withMigratedDatabase { db in
            let (alice, ws, channel) = try await seed(db)
            let bob = User(id: ids.next(), username: "b\(UInt32.random(in: 0...UInt32.max))", globalName: nil, bot: false)
            let carol = User(id: ids.next(), username: "c\(UInt32.random(in: 0...UInt32.max))", globalName: nil, bot: true)
            for user in [bob, carol] {
                #expect(try await db.insertUser(user, passwordHash: nil, ownerID: nil))
                _ = try await db.insertMember(workspaceID: ws.id, userID: user.id)
            }
            var first = record(ids.next(), channel: channel, author: alice, content: "hi bob")
            first.mentionIDs = [bob.id, bob.id]
            var second = record(ids.next(), channel: channel, author: bob, content: "hi all")
            second.mentionIDs = [alice.id, carol.id, bob.id]
            second.nonceJSON = #""n-1""#
            second.referenceMessageID = first.id
            second.referenceChannelID = channel.id
            second.referenceGuildID = ws.id
            var third = record(ids.next(), channel: channel, author: alice, content: "@everyone")
            third.mentionEveryone = true
            third.mentionIDs = [bob.id]
            let batch = [first, second, third]
            try await db.ensureMessagePartition(bucket: first.id.bucket)
            let changed = try await db.insertMessages(batch.map {
                MessageWrite(record: $0, authorID: $0.author.id,
                             event: PendingEvent(type: "MESSAGE_CREATE", guildID: ws.id, channelID: channel.id, payload: #"{"id":"\#($0.id)"}"#))
            })
            let states = Dictionary(uniqueKeysWithValues: changed.map { ($0.userID, $0) })
            #expect(changed.count == 3, "one row per user and channel")
            #expect(states[alice.id]?.lastMessageID == Snowflake(0) && states[alice.id]?.mentionCount == 1, "an author's own read state waits for the sequencer")
            #expect(states[bob.id]?.lastMessageID == Snowflake(0) && states[bob.id]?.mentionCount == 2, "two messages mention bob; one names him twice")
            #expect(states[carol.id]?.lastMessageID == Snowflake(0) && states[carol.id]?.mentionCount == 1)

            for sent in batch {
                var read = try #require(try await db.message(channelID: channel.id, id: sent.id))
                read.authorMember = nil
                #expect(read == sent)
            }
            let sequenced = try await db.sequenceOutbox()
            let read = Dictionary(uniqueKeysWithValues: sequenced.readStates.map { ($0.userID, $0) })
            #expect(read.count == 2, "one row per author and channel")
            #expect(read[alice.id]?.lastMessageID == third.id && read[alice.id]?.lastSeq == 3 && read[alice.id]?.mentionCount == 1)
            #expect(read[bob.id]?.lastMessageID == second.id && read[bob.id]?.lastSeq == 2 && read[bob.id]?.mentionCount == 2)
            #expect(try #require(read[bob.id]).version > states[bob.id]!.version)
            #expect(try await db.events(after: 0, limit: 10).map(\.event.payload) == batch.map { #"{"id":"\#($0.id)"}"# })
            let everyone = try await db.run("SELECT message_id FROM mass_mentions WHERE channel_id = \(channel.id.int64)").map { try $0.decode(Int64.self) }
            #expect(everyone == [third.id.int64])

            // A second batch adds to the rows the first made.
            var fourth = record(ids.next(), channel: channel, author: carol, content: "hi bob")
            fourth.mentionIDs = [bob.id]
            let again = try await db.insertMessage(fourth, authorID: carol.id,
                                                   event: PendingEvent(type: "MESSAGE_CREATE", guildID: ws.id, channelID: channel.id, payload: #"{"id":"\#(fourth.id)"}"#))
            let bobs = try #require(again.first { $0.userID == bob.id })
            #expect(bobs.mentionCount == 3 && bobs.lastMessageID == second.id && bobs.version > read[bob.id]!.version)
            #expect(again.count == 1, "the author's own row is left to the sequencer")
            let carolsRead = try #require(try await db.sequenceOutbox().readStates.first { $0.userID == carol.id })
            #expect(carolsRead.lastMessageID == fourth.id && carolsRead.lastSeq == 4 && carolsRead.mentionCount == 1)
        }
    }

    /// A send with a kept access is written only while the versions it was read at are current:
    /// a member's change moves the workspace's, a user's change their own, and the sequencer's
    /// counters neither.
    @Test func aKeptAccessIsWrittenOnlyAtItsVersions() async throws {
        try await TestServers.withMigratedDatabase { db in
            let (user, ws, channel) = try await seed(db)
            func write(_ checkedAt: AccessVersions) async throws {
                let r = record(ids.next(), channel: channel, author: user, content: "kept")
                try await db.ensureMessagePartition(bucket: r.id.bucket)
                _ = try await db.insertMessages([MessageWrite(record: r, authorID: user.id, event: PendingEvent(
                    type: "MESSAGE_CREATE", guildID: ws.id, channelID: channel.id, payload: "{}"), checkedAt: checkedAt)])
            }
            func refused(_ checkedAt: AccessVersions) async -> Bool {
                do { try await write(checkedAt) } catch { return error.sqlState == AccessVersions.changed }
                return false
            }
            let first = try #require(try await db.channelAccess(id: channel.id, userID: user.id)?.versions)
            try await write(first)
            _ = try await db.sequenceOutbox()
            #expect(try await db.channelAccess(id: channel.id, userID: user.id)?.versions == first, "numbering messages changes no access")

            #expect(try await db.setNick(workspaceID: ws.id, userID: user.id, nick: "Nick"))
            #expect(await refused(first), "the member changed")
            let second = try #require(try await db.channelAccess(id: channel.id, userID: user.id)?.versions)
            #expect(second.workspace > first.workspace && second.user == first.user)
            try await write(second)

            try await db.run("UPDATE users SET global_name = 'Renamed' WHERE id = \(user.id.int64)")
            #expect(await refused(second), "the user changed")
            let third = try #require(try await db.channelAccess(id: channel.id, userID: user.id)?.versions)
            try await db.run("UPDATE channels SET permission_overwrites = '[]' WHERE id = \(channel.id.int64)")
            #expect(await refused(third), "the channel's settings changed")
            #expect(try await db.messages(channelID: channel.id, page: .latest, limit: 10).count == 2, "nothing refused was written")
        }
    }

    /// Every relayed batch upserts its authors' replicas in the statement that writes its
    /// messages: both are written; a profile that already says the same is not rewritten (no new
    /// row version), a changed profile is, and a local user never is.
    @Test func aReplicaUserIsRewrittenOnlyWhenItsProfileChanged() async throws {
        try await TestServers.withMigratedDatabase { db in
            let (local, _, channel) = try await seed(db)
            let far = User(id: SnowflakeGenerator(cell: 5).next(), username: "far\(UInt32.random(in: 0...UInt32.max))", globalName: "Far", bot: false)
            func version() async throws -> String {
                try #require(try await db.run("SELECT xmin::text FROM users WHERE id = \(far.id.int64)").first).decode(String.self)
            }
            let relayed = record(ids.next(), channel: channel, author: far, content: "from far")
            try await db.ensureMessagePartition(bucket: relayed.id.bucket)
            #expect(try await db.upsertRelayedMessages([relayed], authors: [far]) == [relayed.id])
            #expect(try await db.user(id: far.id)?.username == far.username)
            #expect(try await db.messages(channelID: channel.id, page: .latest, limit: 10).map(\.id) == [relayed.id])
            let first = try await version()
            #expect(try await db.upsertRelayedMessages([relayed], authors: [far]).isEmpty, "the same message again changes nothing")
            try await db.upsertReplica(far)
            #expect(try await version() == first, "the same profile again writes nothing")
            var renamed = far
            renamed.global_name = "Renamed"
            _ = try await db.upsertRelayedMessages([], authors: [renamed])
            #expect(try await version() != first)
            #expect(try await db.user(id: far.id)?.global_name == "Renamed")

            var overwritten = local
            overwritten.global_name = "Not from here"
            _ = try await db.upsertRelayedMessages([], authors: [overwritten])
            #expect(try await db.user(id: local.id)?.global_name == local.global_name, "a local user keeps its own profile")
        }
    }

    @Test func concurrentWritersGetADenseOrderedSequence() async throws {
        try await TestServers.withMigratedDatabase { db in
            let (user, _, channel) = try await seed(db)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<200 {
                    group.addTask { try await insert(db, record(ids.next(), channel: channel, author: user, content: "c\(i)")) }
                    if i % 50 == 49 { _ = try await db.sequenceOutbox(batch: 37) }
                }
                try await group.waitForAll()
            }
            while try await db.sequenceOutbox(batch: 37).assigned > 0 {}
            let events = try await db.events(after: 0, limit: 1000)
            #expect(events.map(\.seq) == Array(1...200))
            #expect(try await db.outboxHead() == 200)
            #expect(try await db.events(after: 150, upTo: 160, limit: 100).map(\.seq) == Array(151...160))
        }
    }

    /// A relayed batch's transaction alone commits without waiting for the disk (the cell's
    /// sequencer, which publishes it, waits) and runs its prepared statements on generic plans:
    /// the settings last only for that transaction, and the cursor it locks starts at 0 for a
    /// new source and keeps what was committed.
    @Test func aRelayedBatchAloneCommitsWithoutWaitingForTheDisk() async throws {
        try await TestServers.withMigratedDatabase { db in
            func setting(_ name: String, _ executor: some SQLExecutor) async throws -> String {
                try #require(try await executor.run("SELECT current_setting(\(name))").first).decode(String.self)
            }
            let server = try await setting("synchronous_commit", db)
            let planning = try await setting("plan_cache_mode", db)
            try await db.transaction { tx throws in
                #expect(try await tx.lockRelayCursorForApplying(source: 2) == 0)
                #expect(try await setting("synchronous_commit", tx) == "off")
                #expect(try await setting("plan_cache_mode", tx) == "force_generic_plan")
                try await tx.setRelayCursor(source: 2, seq: 7)
            }
            #expect(try await setting("synchronous_commit", db) == server)
            #expect(try await setting("plan_cache_mode", db) == planning)
            try await db.transaction { tx throws in
                #expect(try await tx.lockRelayCursorForApplying(source: 2) == 7)
                #expect(try await tx.lockRelayCursorForApplying(source: 3) == 0)
            }
            #expect(try await db.relayCursor(source: 2).seq == 7)
        }
    }

    /// What a relayed batch reads before it writes, in one statement: which of its channels are
    /// replicas of the source here (and in which workspace), and which of its buckets are cold.
    @Test func aRelayedBatchFindsItsReplicasInOneRead() async throws {
        try await TestServers.withMigratedDatabase { db in
            let (_, ws, local) = try await seed(db)
            let replica = GuildChannel(id: ids.next(), type: .guildText, guildID: ws.id, name: "shared", topic: nil, position: 1,
                                       parentID: nil, nsfw: false, lastMessageID: nil)
            try await db.insertReplicaChannel(replica, homeCell: 2)
            let unknown = ids.next()
            let bucket = ChannelBucket(channel: replica.id, bucket: replica.id.bucket)
            let found = try await db.relayTargets(homeCell: 2, channels: [replica.id, local.id, unknown], buckets: [bucket])
            #expect(found.replicas == [replica.id: .some(ws.id)])
            #expect(found.cold.isEmpty, "nothing archived")
            #expect(try await db.relayTargets(homeCell: 3, channels: [replica.id], buckets: []).replicas.isEmpty, "another source's")
            try await archive(bucket, state: "copied", db)
            #expect(try await db.relayTargets(homeCell: 2, channels: [], buckets: [bucket]).cold.isEmpty, "copied, not yet cold")
            try await db.run("UPDATE archive_files SET state = 'cold'")
            let other = ChannelBucket(channel: replica.id, bucket: replica.id.bucket + 1)
            #expect(try await db.relayTargets(homeCell: 2, channels: [], buckets: [bucket, other]).cold == [bucket])
        }
    }

    /// Records `pair` as archived into a file in `state` (as the tier mover does, without the file).
    func archive(_ pair: ChannelBucket, state: String, _ db: Database) async throws {
        let file = try #require(try await db.run("""
            INSERT INTO archive_files (bucket, name, sha256, rows_sha256, row_count, bytes, warm_bytes, state)
            VALUES (\(pair.bucket), \("file-\(pair.channel)-\(pair.bucket)"), '', '', 0, 0, 0, \(state)) RETURNING id
            """).first).decode(Int64.self)
        try await db.run("""
            INSERT INTO archived_channels (channel_id, bucket, file_id, row_count) VALUES (\(pair.channel.int64), \(pair.bucket), \(file), 0)
            """)
    }

    /// The end of a relayed page is one statement: its events are queued in their order, the
    /// relay's cursor moves (or stays, when told nothing), and the answer says whether a bucket
    /// the page wrote into is archived cold (a write beside the cold copy: the page rolls back).
    @Test func aRelayedPageEndsInOneStatement() async throws {
        try await TestServers.withMigratedDatabase { db in
            let (_, ws, channel) = try await seed(db)
            let warm = ChannelBucket(channel: channel.id, bucket: channel.id.bucket)
            let archived = ChannelBucket(channel: channel.id, bucket: channel.id.bucket + 1)
            try await archive(archived, state: "copied", db)
            let events = ["RELAYED_FIRST", "RELAYED_SECOND"].map {
                PendingEvent(type: $0, guildID: ws.id, channelID: channel.id, payload: #"{"n":"\#($0)"}"#, requestID: "r-\($0)")
            }
            #expect(try await !db.finishRelayedPage(source: 2, through: 9, events: events, written: [warm, archived]))
            let queued = try await db.run("SELECT event_type, request_id FROM outbox WHERE event_type LIKE 'RELAYED_%' ORDER BY id")
                .map { try $0.decode((String, String).self) }
            #expect(queued.map(\.0) == ["RELAYED_FIRST", "RELAYED_SECOND"])
            #expect(queued.map(\.1) == ["r-RELAYED_FIRST", "r-RELAYED_SECOND"])
            #expect(try await db.relayCursor(source: 2).seq == 9)

            try await db.run("UPDATE archive_files SET state = 'cold'")
            #expect(try await db.finishRelayedPage(source: 2, through: nil, events: [], written: [warm, archived]), "written beside a cold copy")
            #expect(try await !db.finishRelayedPage(source: 2, through: nil, events: [], written: [warm]))
            #expect(try await db.relayCursor(source: 2).seq == 9, "no position given: the cursor stays")
            #expect(try await !db.finishRelayedPage(source: 2, through: nil, events: [], written: []))
        }
    }
}
