import NIOCore
import NIOPosix
@testable import ConcordRedis
import Testing

@Suite("Redis protocol")
struct RedisProtocolTests {
    @Test func aCallOnAnEventLoopGoesOverThatLoopsConnection() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        defer { group.shutdownGracefully { _ in } }
        let loops = Array(group.makeIterator())
        for (place, loop) in loops.enumerated() {
            #expect(try await loop.submit { RedisClient.place(among: loops) }.get() == place)
        }
        // Off every loop: the first loop's connection.
        #expect(RedisClient.place(among: loops) == 0)
    }

    @Test func commandsEncodeAsRESP() {
        var buffer = ByteBufferAllocator().buffer(capacity: 0)
        RedisProtocolHandler.encode([Array("SET".utf8), Array("k".utf8), [0, 13, 10]], into: &buffer)
        #expect(String(decoding: buffer.readableBytesView, as: UTF8.self) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\u{0}\r\n\r\n")
    }

    @Test func pushesAreRecognized() {
        #expect(RedisProtocolHandler.isPush(.array([.bulk(Array("message".utf8)), .bulk([1]), .bulk([2])])))
        #expect(!RedisProtocolHandler.isPush(.array([.bulk(Array("subscribe".utf8)), .bulk([1]), .integer(1)])))
        #expect(!RedisProtocolHandler.isPush(.status("OK")))
    }
}
