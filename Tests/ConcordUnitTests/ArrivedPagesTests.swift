import ConcordModels
@testable import ConcordRelay
import Foundation
import Testing

/// Pages of an open read wait while the relay waits for its destination, and are taken as one.
@Suite("Arrived pages")
struct ArrivedPagesTests {
    static func page(_ seqs: [Int64], through: Int64) throws -> RelayPage {
        try RelayPage(json: Data(("[" + seqs.map { #"{"seq":\#($0),"d":{"content":"m\#($0)"}}"# }.joined(separator: ",") + "]").utf8),
                      through: through, head: through)
    }

    @Test func pagesThatCameMeanwhileAreTakenAsOne() async throws {
        let arrived = ArrivedPages(limit: 1 << 20)
        for (seqs, through) in [([Int64](), Int64(3)), ([4, 5], 6), ([], 8), ([9], 9)] { await arrived.add(try Self.page(seqs, through: through)) }
        let taken = try #require(try await arrived.take())
        #expect(taken.seqs == [4, 5, 9] && taken.through == 9 && taken.head == 9)
        struct Numbered: Decodable { var seq: Int64 }
        #expect(try JSONDecoder().decode([Numbered].self, from: taken.json).map(\.seq) == [4, 5, 9], "one JSON array, in order")
        // Nothing since: the next take waits for the next page.
        async let next = arrived.take()
        try await Task.sleep(for: .milliseconds(50))
        await arrived.add(try Self.page([10], through: 10))
        #expect(try await next?.seqs == [10])
    }

    @Test func theReadsEndIsSeenOnceItsPagesAreTaken() async throws {
        let ended = ArrivedPages(limit: 1 << 20)
        await ended.add(try Self.page([1], through: 1))
        ended.end()
        #expect(try await ended.take()?.seqs == [1])
        #expect(try await ended.take() == nil)

        struct Broken: Error {}
        let broken = ArrivedPages(limit: 1 << 20)
        await broken.add(try Self.page([1], through: 1))
        broken.end(Broken())
        #expect(try await broken.take()?.seqs == [1])
        await #expect(throws: Broken.self) { try await broken.take() }
    }

    @Test func readingStopsPastTheLimitUntilTheRelayTakes() async throws {
        let arrived = ArrivedPages(limit: 10)
        let added = Task {
            await arrived.add(try Self.page([1, 2, 3], through: 3))
            return ContinuousClock.now
        }
        try await Task.sleep(for: .milliseconds(200))
        let takenAt = ContinuousClock.now
        #expect(try await arrived.take()?.seqs == [1, 2, 3])
        #expect(try await added.value >= takenAt, "the reader went on only once the pages were taken")
    }

    @Test func aWaitingTakeOrAddEndsWhenCancelled() async throws {
        let arrived = ArrivedPages(limit: 10)
        let taking = Task { try await arrived.take() }
        try await Task.sleep(for: .milliseconds(50))
        taking.cancel()
        await #expect(throws: CancellationError.self) { try await taking.value }
        let adding = Task { await arrived.add(try Self.page([1, 2, 3], through: 3)) }
        try await Task.sleep(for: .milliseconds(50))
        adding.cancel()
        try await adding.value
    }
}
