import ArgumentParser
import AsyncHTTPClient
import ConcordModels
import Foundation
import NIOCore

/// History reads per tier: hot (the latest page, from the cell's Redis), warm (random older
/// pages, PostgreSQL), cold (random pages in archived buckets: each file's first open, then
/// cached), each at the cell directly and through the edge; and history storms (many readers
/// of the same pages at once), counting the database reads the cell made.
struct Tiers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "History page latency per tier, and history storms.")
    @Option(help: "The edge's base URL.") var edge: String
    @Option(help: "The cell's internal API base URL (its secret is read from CONCORD_INTERNAL_SECRET).") var cell: String
    @Option(help: "The Authorization value.") var token: String
    @Option var channel: String
    @Option(help: "The oldest message id of the channel.") var oldest: UInt64
    @Option(help: "The oldest warm message id (older ones are archived).") var coldBelow: UInt64
    @Option(help: "The newest message id of the channel.") var newest: UInt64
    @Option(help: "Requests per measurement.") var requests: Int = 2000
    @Option(help: "Concurrent readers in a storm.") var storm: Int = 1000

    func run() async throws {
        let secret = ProcessInfo.processInfo.environment["CONCORD_INTERNAL_SECRET"] ?? ""
        let http = makeClient(storm)
        let path = "/api/v10/channels/\(channel)/messages?limit=50"
        func get(_ base: String, _ query: String) async -> Double? {
            var request = HTTPClientRequest(url: base + path + query)
            request.headers.add(name: "Authorization", value: token)
            if base == cell { request.headers.add(name: "X-Concord-Internal", value: secret) }
            return await timed(http, request)
        }
        func measure(_ label: String, _ query: @escaping () -> String) async {
            for (name, base) in [("cell", cell), ("edge", edge)] {
                var samples = Samples()
                for _ in 0..<requests {
                    if let micros = await get(base, query()) { samples.micros.append(micros) } else { samples.errors += 1 }
                }
                print(String(format: "tiers: %@ page at the %@: %d ok, %d errors; p50 %.2f ms, p99 %.2f ms", label, name,
                             samples.micros.count, samples.errors, samples.percentile(0.5) / 1000, samples.percentile(0.99) / 1000))
            }
        }
        let (oldest, coldBelow, newest) = (oldest, coldBelow, newest)
        // Warm pages start below the hot list (the latest 100) so none is served hot.
        let warmTop = coldBelow + (newest - coldBelow) * 9 / 10
        _ = await get(edge, "")  // the latest page becomes hot
        await measure("hot (latest)") { "" }
        await measure("warm (random before=)") { "&before=\(UInt64.random(in: coldBelow...warmTop))" }

        // Cold: the first read of each archived bucket opens (fetches, checks, unpacks) its file.
        let bucketSpan = Snowflake.bucketMilliseconds << 22
        var firstOpens = Samples()
        var cursor = Snowflake(coldBelow)
        while cursor.rawValue > oldest + bucketSpan / 2 {
            let middle = Snowflake.firstID(ofBucket: Snowflake(cursor.rawValue - 1).bucket).rawValue + bucketSpan / 2
            if let micros = await get(cell, "&before=\(min(middle, cursor.rawValue - 1))") { firstOpens.micros.append(micros) }
            cursor = Snowflake.firstID(ofBucket: Snowflake(cursor.rawValue - 1).bucket)
        }
        print(String(format: "tiers: cold page, first open of each archive at the cell: %d files; p50 %.2f ms, max %.2f ms",
                     firstOpens.micros.count, firstOpens.percentile(0.5) / 1000, (firstOpens.micros.max() ?? 0) / 1000))
        await measure("cold (cached, random before=)") { "&before=\(UInt64.random(in: (oldest + 1)...coldBelow))" }

        // Storms: `storm` readers at once over a few distinct pages (warm, not hot).
        for distinct in [1, 10] {
            let cursors = (0..<distinct).map { _ in UInt64.random(in: coldBelow...warmTop) }
            let readsBefore = try await databaseReads(http, secret)
            let started = ContinuousClock.now
            let samples = await withTaskGroup(of: Double?.self) { group in
                for reader in 0..<storm { group.addTask { await get(edge, "&before=\(cursors[reader % distinct])") } }
                var samples = Samples()
                for await micros in group { if let micros { samples.micros.append(micros) } else { samples.errors += 1 } }
                return samples
            }
            let elapsed = ContinuousClock.now - started
            let reads = try await databaseReads(http, secret) - readsBefore
            print(String(format: "tiers: storm of %d readers over %d distinct page(s): %d ok, %d errors in %.2f s; %d database reads (%.2f per distinct page); p50 %.1f ms, p99 %.1f ms",
                         storm, distinct, samples.micros.count, samples.errors, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                         reads, Double(reads) / Double(distinct), samples.percentile(0.5) / 1000, samples.percentile(0.99) / 1000))
        }
        try await http.shutdown()
    }

    func databaseReads(_ http: HTTPClient, _ secret: String) async throws -> Int {
        var request = HTTPClientRequest(url: cell + "/internal/stats")
        request.headers.add(name: "X-Concord-Internal", value: secret)
        let response = try await http.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 16)
        let stats = try JSONDecoder().decode([String: Int].self, from: Data(body.readableBytesView))
        return stats["history_reads"] ?? 0
    }
}
