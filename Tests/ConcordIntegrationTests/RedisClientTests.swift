import ConcordRedis
import Foundation
import Synchronization
import Testing

/// The hiredis-based client against a real Redis.
@Suite("Redis client")
struct RedisClientTests {
    func client() throws -> RedisClient { RedisClient(host: "127.0.0.1", port: try TestServers.redisPort()) }
    func key() -> String { "test:" + UUID().uuidString }

    @Test func commandsAndBinarySafety() async throws {
        let redis = try client()
        let k = key()
        #expect(try await redis.send("SET", k, "v") == .status("OK"))
        #expect(try await redis.send("GET", k).string == "v")
        #expect(try await redis.send("INCR", k + ":n") == .integer(1))
        #expect(try await redis.send("GET", k + ":missing") == .null)
        let binary: [UInt8] = [0, 13, 10, 255, 36, 42]
        _ = try await redis.send([Array("SET".utf8), Array(k.utf8), binary])
        #expect(try await redis.send("GET", k) == .bulk(binary))
        #expect(try await redis.send("RPUSH", k + ":l", "a", "b") == .integer(2))
        #expect(try await redis.send("LRANGE", k + ":l", "0", "-1") == .array([.bulk(Array("a".utf8)), .bulk(Array("b".utf8))]))
        await #expect(throws: RedisError.self) { try await redis.send("INCR", k) }
        #expect(try await redis.send("PING") == .status("PONG"), "the connection survives an error reply")
        await redis.close()
    }

    @Test func pipeliningKeepsOrder() async throws {
        let redis = try client()
        let k = key()
        let replies = try await redis.pipeline((0..<1000).map { _ in ["INCR", k] })
        #expect(replies.map { try? $0.get().integer } == (1...1000).map { Int64($0) })
        // Concurrent callers on one connection each get their own reply.
        let values = try await withThrowingTaskGroup(of: Int64.self) { group in
            for i in 0..<200 { group.addTask { try await redis.send("ECHO", String(i)).integer ?? -1 } }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(values.sorted() == (0..<200).map { Int64($0) })
        await redis.close()
    }

    /// A pipeline is one write and one answer: an error reply fails only its own entry, replies
    /// of pipelines sent at once never mix, and an empty pipeline answers at once.
    @Test func pipelineRepliesStayWithTheirCommands() async throws {
        let redis = try client()
        let k = key()
        _ = try await redis.send("SET", k, "text")
        let replies = try await redis.pipeline([["GET", k], ["INCR", k], ["ECHO", "after"]])
        #expect(try replies[0].get().string == "text")
        guard case .failure(.server(let message)) = replies[1] else { Issue.record("INCR of text: \(replies[1])"); return }
        #expect(message.contains("not an integer"))
        #expect(try replies[2].get().string == "after")
        #expect(try await redis.pipeline([]).isEmpty)
        let echoed = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            for i in 0..<100 {
                group.addTask { (i, try await redis.pipeline((0..<5).map { ["ECHO", "\(i).\($0)"] }).map { try $0.get().string ?? "" }) }
            }
            return try await group.reduce(into: [Int: [String]]()) { $0[$1.0] = $1.1 }
        }
        #expect(echoed.count == 100 && echoed.allSatisfy { i, replies in replies == (0..<5).map { "\(i).\($0)" } })
        await redis.close()
    }

    @Test func publishSubscribe() async throws {
        let redis = try client()
        let subscriber = RedisSubscriber(host: "127.0.0.1", port: try TestServers.redisPort())
        let topic = key()
        try await subscriber.subscribe(topic)
        let run = Task { await subscriber.run() }
        defer { run.cancel() }
        var iterator = subscriber.events.makeAsyncIterator()
        #expect(await iterator.next() == .connected(resumed: false))
        #expect(try await redis.send("PUBLISH", topic, "one").integer == 1)
        #expect(await iterator.next() == .message(topic: topic, payload: Array("one".utf8)))
        try await subscriber.unsubscribe(topic)
        #expect(try await redis.send("PUBLISH", topic, "two").integer == 0)
        await redis.close()
    }

    /// A Redis of the test's own (stopped, restarted, its clients dropped), a client and a subscriber of it.
    private func withOwnRedis(_ body: (OwnRedis, RedisClient, RedisSubscriber) async throws -> Void) async throws {
        let own = try OwnRedis()
        try await own.start()
        let redis = RedisClient(host: "127.0.0.1", port: own.port)
        do {
            try await body(own, redis, RedisSubscriber(host: "127.0.0.1", port: own.port))
        } catch {
            await redis.close()
            await own.stop()
            throw error
        }
        await redis.close()
        await own.stop()
    }

    @Test func reconnectsAfterRedisRestarts() async throws {
        try await withOwnRedis { own, redis, subscriber in
            try await subscriber.subscribe("news")
            let run = Task { await subscriber.run() }
            defer { run.cancel() }
            var events = subscriber.events.makeAsyncIterator()
            #expect(await events.next() == .connected(resumed: false))
            #expect(try await redis.send("PING") == .status("PONG"))

            await own.stop()
            await #expect(throws: RedisError.self) { try await redis.send("PING") }
            try await own.start()
            try await eventually("client reconnects") { (try? await redis.send("PING")) == .status("PONG") }
            #expect(await events.next() == .connected(resumed: true), "the subscriber reports the gap")
            try await eventually("resubscribed") { try await redis.send("PUBLISH", "news", "back").integer == 1 }
            #expect(await events.next() == .message(topic: "news", payload: Array("back".utf8)))
        }
    }

    /// Topics go to Redis several to a SUBSCRIBE (sessions identifying together, and a
    /// reconnection with every session's topics): each is confirmed and followed all the same.
    @Test func manyTopicsAreSubscribedInFewCommandsAndAfterAReconnection() async throws {
        try await withOwnRedis { own, redis, subscriber in
            let early = (0..<600).map { "early-\($0)" }
            #expect(try await subscriber.subscribe(early) == false, "not connected yet: the connection subscribes them")
            let run = Task { await subscriber.run() }
            defer { run.cancel() }
            var events = subscriber.events.makeAsyncIterator()
            #expect(await events.next() == .connected(resumed: false))
            let late = (0..<50).map { "late-\($0)" }
            #expect(try await subscriber.subscribe(late + [late[0]]) == true, "a topic named twice is confirmed twice")
            func subscribers(_ topics: [String]) async throws -> [Int64] {
                try await redis.pipeline(topics.map { ["PUBLISH", $0, "x"] }).map { try $0.get().integer ?? -1 }
            }
            func subscribeCalls() async throws -> Int {
                let stats = try await redis.send("INFO", "commandstats").string ?? ""
                return (stats.firstMatch(of: /cmdstat_subscribe:calls=(\d+)/)?.output.1).flatMap { Int($0) } ?? -1
            }
            #expect(try await subscribers(early + late).allSatisfy { $0 == 1 })
            let afterConnect = try await subscribeCalls()
            #expect(afterConnect == 4, "600 topics in 3 commands at connection, 50 in one after")

            _ = try await redis.send("CLIENT", "KILL", "TYPE", "pubsub")
            while let event = await events.next(), event != .connected(resumed: true) {}
            #expect(try await subscribers(early + late).allSatisfy { $0 == 1 }, "every topic followed again")
            let afterReconnect = try await subscribeCalls()
            #expect(afterReconnect == 7, "650 topics in 3 more commands")
        }
    }

    /// Found by `make soak`: after a drop, messages of the topics resubscribed first arrived
    /// before `.connected(resumed: true)`, so an edge took them as live, moved its cursor past
    /// them and read back nothing of what it missed. Nothing of a new connection may come
    /// before its `.connected`.
    @Test func nothingOfANewConnectionComesBeforeItIsReported() async throws {
        try await withOwnRedis { own, redis, subscriber in
            let topics = (0..<300).map { "topic-\($0)" }
            for topic in topics { try await subscriber.subscribe(topic) }
            let run = Task { await subscriber.run() }
            defer { run.cancel() }
            var events = subscriber.events.makeAsyncIterator()
            #expect(await events.next() == .connected(resumed: false))
            // Every topic gets numbered messages all along, across a dropped connection.
            let publishing = Task {
                var n = 0
                while !Task.isCancelled {
                    let batch = (0..<20).map { i in ["PUBLISH", topics[(n + i) % topics.count], String(n + i)] }
                    _ = try? await redis.pipeline(batch)
                    n += batch.count
                    try? await Task.sleep(for: .milliseconds(2))
                }
            }
            try await Task.sleep(for: .milliseconds(200))
            _ = try await redis.send("CLIENT", "KILL", "TYPE", "pubsub")
            var beforeReport: [Int] = []
            var reported = false
            while let event = await events.next() {
                if event == .connected(resumed: true) { reported = true; break }
                if case .message(_, let payload) = event, let n = Int(String(decoding: payload, as: UTF8.self)) { beforeReport.append(n) }
            }
            publishing.cancel()
            #expect(reported)
            // What came before the report came from the old connection: no gap in it, since the drop
            // ends it (a message after a gap was published after the drop, to the new connection).
            let sorted = beforeReport.sorted()
            let gaps = zip(sorted, sorted.dropFirst()).filter { $1 - $0 > 1 }
            #expect(gaps.isEmpty, "messages of the new connection before its report: \(gaps.prefix(3))")
        }
    }
}
