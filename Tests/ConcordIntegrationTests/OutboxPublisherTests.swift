@testable import ConcordCell
import ConcordModels
import ConcordRedis
import ConcordStorage
import Foundation
import Synchronization
import Testing

/// The outbox reaching Redis in sequence order, including across a Redis outage.
@Suite("Outbox publication")
struct OutboxPublisherTests {
    func events(_ n: Int, guild: Snowflake, from start: Int = 0) -> [PendingEvent] {
        (start..<start + n).map { PendingEvent(type: "MESSAGE_CREATE", guildID: guild, channelID: guild, payload: #"{"n":\#($0)}"#) }
    }

    /// Subscribes to `topic` and collects the outbox events published there until `stop` is called.
    func listen(port: Int, topic: String, redis: RedisClient) async throws -> (Received, @Sendable () -> Void) {
        let subscriber = RedisSubscriber(host: "127.0.0.1", port: port)
        try await subscriber.subscribe(topic)
        let run = Task { await subscriber.run() }
        let received = Received()
        let reader = Task {
            for await event in subscriber.events {
                if case .message(_, let payload) = event, let e = OutboxEvent(wireJSON: payload) {
                    received.events.withLock { $0.append(e) }
                }
            }
        }
        try await eventually("subscription") { try await redis.send("PUBSUB", "NUMSUB", topic).array?.last?.integer == 1 }
        return (received, { run.cancel(); reader.cancel() })
    }

    @Test func publicationOrderEqualsSequenceOrder() async throws {
        try await TestServers.withMigratedDatabase { db in
            let cell = "pub-" + UUID().uuidString.prefix(6)
            let guild = Snowflake(424242)
            let redis = RedisClient(host: "127.0.0.1", port: try TestServers.redisPort())
            let (received, stop) = try await listen(port: try TestServers.redisPort(), topic: Topics.workspace(guild, cell: cell), redis: redis)
            defer { stop() }

            try await withThrowingTaskGroup(of: Void.self) { group in
                for chunk in 0..<10 {
                    group.addTask { try await db.transaction { tx in try await tx.insertEvents(events(10, guild: guild, from: chunk * 10)) } }
                }
                try await group.waitForAll()
            }
            let publisher = OutboxPublisher(db: db, redis: redis, cellName: cell, signal: OutboxSignal())
            let position = try await publisher.publishPending(after: 0)
            #expect(position == 100)
            try await eventually("100 events") { received.events.withLock { $0.count } == 100 }
            let seqs = received.events.withLock { $0.map(\.seq) }
            #expect(seqs == Array(1...100))
            // Rows written in one transaction stay together and in order.
            let payloads = try await db.events(after: 0, limit: 100).map(\.event.payload)
            #expect(received.events.withLock { $0.map(\.event.payload) } == payloads)
            #expect(try await db.cursor(OutboxPublisher.consumer) == 100)
            await redis.close()
        }
    }

    @Test func eventsCommittedWhileRedisIsDownArePublishedAfterwards() async throws {
        try await TestServers.withMigratedDatabase { db in
            let own = try OwnRedis()
            try await own.start()
            let cell = "outage-" + UUID().uuidString.prefix(6)
            let guild = Snowflake(777)
            let redis = RedisClient(host: "127.0.0.1", port: own.port)
            let publisher = OutboxPublisher(db: db, redis: redis, cellName: cell, signal: OutboxSignal())

            try await db.transaction { try await $0.insertEvents(events(5, guild: guild)) }
            #expect(try await publisher.publishPending(after: 0) == 5)

            await own.stop()
            try await db.transaction { try await $0.insertEvents(events(7, guild: guild, from: 5)) }
            await #expect(throws: (any Error).self) { try await publisher.publishPending(after: 5) }
            #expect(try await db.cursor(OutboxPublisher.consumer) == 5, "nothing counts as published while Redis is down")

            try await own.start()
            let (received, stop) = try await listen(port: own.port, topic: Topics.workspace(guild, cell: cell), redis: redis)
            defer { stop() }

            #expect(try await publisher.publishPending(after: 5) == 12)
            try await eventually("7 events after the outage") { received.events.withLock { $0.count } == 7 }
            #expect(received.events.withLock { $0.map(\.seq) } == Array(6...12))
            // Anything a consumer missed is still readable from the outbox by sequence.
            #expect(try await db.events(after: 0, limit: 100).map(\.seq) == Array(1...12))
            await redis.close()
            await own.stop()
        }
    }

    @Test func aRestartedPublisherResumesFromItsCursorWithoutDuplicates() async throws {
        try await TestServers.withMigratedDatabase { db in
            let cell = "restart-" + UUID().uuidString.prefix(6)
            let guild = Snowflake(31337)
            let redis = RedisClient(host: "127.0.0.1", port: try TestServers.redisPort())
            let (received, stop) = try await listen(port: try TestServers.redisPort(), topic: Topics.workspace(guild, cell: cell), redis: redis)
            defer { stop() }

            // First life of the cell's publisher, running as the service does.
            let first = OutboxPublisher(db: db, redis: redis, cellName: cell, signal: OutboxSignal(), pollInterval: .milliseconds(20))
            let life1 = Task { try await first.run() }
            try await db.transaction { try await $0.insertEvents(events(10, guild: guild)) }
            try await eventually("first 10") { received.events.withLock { $0.count } == 10 }
            // Stopped after recording its progress. (Killed between publishing and recording, it
            // would publish those again: delivery is at least once, and consumers drop repeats by seq.)
            try await eventually("cursor at 10") { try await db.cursor(OutboxPublisher.consumer) == 10 }
            life1.cancel()
            _ = await life1.result

            // Committed while no publisher runs (the cell is down).
            try await db.transaction { try await $0.insertEvents(events(15, guild: guild, from: 10)) }

            let second = OutboxPublisher(db: db, redis: redis, cellName: cell, signal: OutboxSignal(), pollInterval: .milliseconds(20))
            let life2 = Task { try await second.run() }
            try await eventually("all 25") { received.events.withLock { $0.count } >= 25 }
            try await eventually("cursor at 25") { try await db.cursor(OutboxPublisher.consumer) == 25 }
            try await Task.sleep(for: .milliseconds(100))
            life2.cancel()
            _ = await life2.result
            #expect(received.events.withLock { $0.map(\.seq) } == Array(1...25), "no gap, no duplicate, in order")
            await redis.close()
        }
    }

    /// A relay is woken for a batch only when it holds events for that relay's cell: a channel
    /// shared there, or an event addressed to someone homed there. An unshared channel's
    /// messages, and this cell's own people's events, wake nobody.
    @Test func aBatchWakesOnlyTheRelaysItConcerns() async throws {
        try await TestServers.withMigratedDatabase { db in
            let cell = "wake-" + UUID().uuidString.prefix(6)
            let (unshared, shared) = (Snowflake(4001), Snowflake(5001))
            try await db.shareChannel(shared, into: Snowflake(9001), cell: 2)
            let ownUser = Snowflake((1 << 22) | (1 << 16))
            let farUser = Snowflake((1 << 22) | (3 << 16))
            #expect(ownUser.cell == 1 && farUser.cell == 3)

            let redis = RedisClient(host: "127.0.0.1", port: try TestServers.redisPort())
            let subscriber = RedisSubscriber(host: "127.0.0.1", port: try TestServers.redisPort())
            for destination in [2, 3] { try await subscriber.subscribe(Topics.relayWake(cell: cell, destination: destination)) }
            let run = Task { await subscriber.run() }
            let wakes = Mutex<[String]>([])
            let reader = Task {
                for await event in subscriber.events {
                    if case .message(let topic, let payload) = event { wakes.withLock { $0.append("\(topic) \(String(decoding: payload, as: UTF8.self))") } }
                }
            }
            defer { run.cancel(); reader.cancel() }
            try await eventually("subscriptions") {
                try await redis.send("PUBSUB", "NUMSUB", Topics.relayWake(cell: cell, destination: 3)).array?.last?.integer == 1
            }

            let publisher = OutboxPublisher(db: db, redis: redis, cellName: cell, signal: OutboxSignal(), relayWakes: RelayWakes(cellID: 1, db: db))
            func publish(_ batch: [PendingEvent]) async throws -> Int64 {
                try await db.transaction { try await $0.insertEvents(batch) }
                return try await publisher.publishPending(after: try await db.cursor(OutboxPublisher.consumer))
            }
            let message = { (channel: Snowflake, user: Snowflake?) in
                PendingEvent(type: "MESSAGE_CREATE", guildID: user == nil ? Snowflake(424242) : nil, channelID: channel, userID: user, payload: "{}")
            }
            _ = try await publish([message(unshared, nil), message(unshared, nil), message(Snowflake(6001), ownUser)])
            let toShared = try await publish([message(unshared, nil), message(shared, nil)])
            let toFarUser = try await publish([message(Snowflake(6002), ownUser), message(Snowflake(6002), farUser)])
            try await eventually("the far user's cell woken") { wakes.withLock { $0.count } >= 2 }
            try await Task.sleep(for: .milliseconds(50))
            #expect(wakes.withLock { $0 } == ["\(Topics.relayWake(cell: cell, destination: 2)) \(toShared)",
                                               "\(Topics.relayWake(cell: cell, destination: 3)) \(toFarUser)"])
            // A relay's backlog counts what it carries: cell 2's is the shared channel's message.
            let backlog = try await db.relayBacklog(after: 0, for: 2)
            #expect(backlog.rows == 1 && backlog.oldest != nil)
            #expect(try await db.relayBacklog(after: toShared, for: 2).rows == 0)
            await redis.close()
        }
    }
}

final class Received: Sendable {
    let events = Mutex<[OutboxEvent]>([])
}
