@testable import ConcordHTTP
import ConcordModels
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// The cells' own kept-alive connections, against a small HTTP/1.1 server on loopback that
/// says which of its connections answered.
@Suite struct CellConnectionsTests {
    @Test func callsInTurnShareOneConnection() async throws {
        try await TinyServer.with { server in
            let connections = CellConnections(tls: nil)
            defer { connections.shutdown() }
            var seen: Set<String> = []
            for i in 0..<5 {
                let reply = try await connections.call(server, "/echo", body: "call \(i)")
                #expect(reply.status == 200)
                #expect(String(decoding: reply.body, as: UTF8.self) == "call \(i)")
                seen.insert(reply.connection)
            }
            #expect(seen.count == 1)
            #expect(connections.openConnections(to: server.base) == 1)
            #expect(connections.usage.open == 1 && connections.usage.waiting == 0)
            #expect(server.accepted == 1)
        }
    }

    @Test func callsBeyondTheLimitWaitForAConnection() async throws {
        try await TinyServer.with { server in
            let connections = CellConnections(tls: nil, maximumPerOrigin: 2)
            defer { connections.shutdown() }
            let replies = try await withThrowingTaskGroup(of: CellReply.self) { group in
                for i in 0..<8 { group.addTask { try await connections.call(server, "/slow?ms=50", body: "\(i)") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.count == 8)
            #expect(replies.allSatisfy { $0.status == 200 })
            #expect(Set(replies.map { String(decoding: $0.body, as: UTF8.self) }) == Set((0..<8).map(String.init)))
            #expect(server.accepted <= 2)
            #expect(server.mostAtOnce <= 2)
            #expect(connections.openConnections(to: server.base) <= 2)
        }
    }

    @Test func aCallWaitingForAPlaceGivesUpAtItsOwnDeadline() async throws {
        try await TinyServer.with { server in
            let connections = CellConnections(tls: nil, maximumPerOrigin: 1)
            defer { connections.shutdown() }
            final class Flag: Sendable { let raised = Atomic(false) }
            let slowDone = Flag()
            let slow = Task {
                defer { slowDone.raised.store(true, ordering: .relaxed) }
                return try await connections.call(server, "/slow?ms=3000", body: "slow", timeout: .seconds(10))
            }
            try await eventuallyTrue { server.accepted == 1 }
            // The one place is held by the slow call: this one waits, and fails when its own
            // timeout ends, long before the slow call lets the place go.
            await #expect(throws: CellConnectionError.timedOut) { try await connections.call(server, "/echo", body: "x", timeout: .milliseconds(100)) }
            let slowFinished = slowDone.raised.load(ordering: .relaxed)
            #expect(!slowFinished)
            #expect(connections.usage.waiting == 0)
            #expect(String(decoding: try await slow.value.body, as: UTF8.self) == "slow")
        }
    }

    @Test func aConnectionTheCellClosesIsNotUsedAgain() async throws {
        try await TinyServer.with { server in
            let connections = CellConnections(tls: nil)
            defer { connections.shutdown() }
            // Answered with "Connection: close": the next call opens another.
            let closing = try await connections.call(server, "/close")
            let after = try await connections.call(server, "/echo", body: "x")
            #expect(closing.status == 200)
            #expect(after.connection != closing.connection)
            // Closed by the server while idle in the pool: it leaves the pool as it closes.
            let idle = try await connections.call(server, "/close-soon")
            try await eventuallyTrue { connections.openConnections(to: server.base) == 0 }
            let next = try await connections.call(server, "/echo", body: "y")
            #expect(next.connection != idle.connection)
            #expect(String(decoding: next.body, as: UTF8.self) == "y")
        }
    }

    @Test func aFailedCallClosesItsConnectionAndTheNextOneWorks() async throws {
        try await TinyServer.with { server in
            let connections = CellConnections(tls: nil)
            defer { connections.shutdown() }
            // Over the call's limit.
            await #expect(throws: CellConnectionError.self) { try await connections.call(server, "/big", limit: 1_000) }
            // No whole answer in time.
            await #expect(throws: CellConnectionError.self) { try await connections.call(server, "/slow?ms=2000", timeout: .milliseconds(100)) }
            // Hung up on, no answer.
            await #expect(throws: CellConnectionError.self) { try await connections.call(server, "/hangup") }
            #expect(connections.openConnections(to: server.base) == 0)
            let reply = try await connections.call(server, "/big", limit: 100_000)
            #expect(reply.body.count == 10_000)
            #expect(connections.openConnections(to: server.base) == 1)
        }
    }

    @Test func aCellNobodyListensAtFailsAtOnce() async throws {
        let connections = CellConnections(tls: nil)
        defer { connections.shutdown() }
        // A port just given up by a listener: nothing there.
        let port = try await TinyServer.with { $0.port }
        await #expect(throws: (any Error).self) {
            _ = try await connections.exchange(base: "http://127.0.0.1:\(port)", method: .GET, path: "/echo", headers: [:], body: nil,
                                               limit: 1_000, timeout: .seconds(5))
        }
        #expect(connections.openConnections(to: "http://127.0.0.1:\(port)") == 0)
    }

    @Test func aCallOnAnEventLoopTakesThatLoopsIdleConnection() async throws {
        try await TinyServer.with { server in
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            defer { group.shutdownGracefully { _ in } }
            let loops = Array(group.makeIterator())
            var open: [any Channel] = []
            for loop in loops { open.append(try await ClientBootstrap(group: loop).connect(host: "127.0.0.1", port: server.port).get()) }
            defer { for channel in open { channel.close(promise: nil) } }
            let (first, second) = (open[0], open[1])
            var places = CellConnections.Places(maximum: 2)
            for _ in open { _ = CellConnections.grant(&places) }
            for channel in open { #expect(places.giveBack(channel) == nil) }
            let (pooled, onFirst, onSecond) = (places, loops[0], loops[1])
            // On a loop: that loop's connection, wherever it is in the list.
            func taken(on loop: any EventLoop) async throws -> ObjectIdentifier? {
                try await loop.submit { var taking = pooled; return Self.idle(CellConnections.grant(&taking)) }.get()
            }
            #expect(try await taken(on: onFirst) == ObjectIdentifier(first))
            #expect(try await taken(on: onSecond) == ObjectIdentifier(second))
            // Off every loop: the last one back; then, every place taken, nothing.
            #expect(Self.idle(CellConnections.grant(&places)) == ObjectIdentifier(second))
            #expect(Self.idle(CellConnections.grant(&places)) == ObjectIdentifier(first))
            #expect(CellConnections.grant(&places) == nil)
        }
    }

    static func idle(_ grant: ConnectionGrant<any Channel>?) -> ObjectIdentifier? {
        guard case .idle(let channel) = grant else { return nil }
        return ObjectIdentifier(channel)
    }

    @Test func addressesAreRead() throws {
        #expect(try CellConnections.origin(of: "http://127.0.0.1:7001") == .init(secure: false, host: "127.0.0.1", port: 7001))
        #expect(try CellConnections.origin(of: "https://cell-1.internal:8443") == .init(secure: true, host: "cell-1.internal", port: 8443))
        #expect(try CellConnections.origin(of: "http://[::1]:9000") == .init(secure: false, host: "::1", port: 9000))
        #expect(try CellConnections.origin(of: "https://cells.example") == .init(secure: true, host: "cells.example", port: 443))
        #expect(throws: CellConnectionError.self) { try CellConnections.origin(of: "ftp://x:1") }
        #expect(throws: CellConnectionError.self) { try CellConnections.origin(of: "http://x:port") }
        #expect(try CellConnections.origin(of: "http://[::1]:9000").authority == "[::1]:9000")
        #expect(try CellConnections.origin(of: "http://127.0.0.1:7001").authority == "127.0.0.1:7001")
        #expect(CellConnections.isAddress("::1") && CellConnections.isAddress("10.0.0.1") && !CellConnections.isAddress("cell-1"))
    }

    private func eventuallyTrue(_ condition: () -> Bool) async throws {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition())
    }
}

private extension CellConnections {
    func call(_ server: TinyServer, _ path: String, body: String? = nil, limit: Int = 1 << 20,
              timeout: TimeAmount = .seconds(10)) async throws -> CellReply {
        try await exchange(base: server.base, method: body == nil ? .GET : .POST, path: path, headers: [:],
                           body: body.map { ByteBuffer(string: $0) }, limit: limit, timeout: timeout)
    }
}

private extension CellReply {
    var connection: String { headers.first { $0.name.lowercased() == "x-connection" }?.value ?? "" }
}

/// An HTTP/1.1 server on a loopback port: `/echo` answers the body it was sent, `/slow?ms=N`
/// the same after N ms, `/big` 10,000 bytes, `/close` answers and closes, `/close-soon` answers
/// kept alive and closes 50 ms later, `/hangup` closes without answering. Every answer names
/// its connection (`x-connection`).
private final class TinyServer: Sendable {
    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }
    private let counts: Counts
    var accepted: Int { counts.accepted.load(ordering: .relaxed) }
    var mostAtOnce: Int { counts.mostAtOnce.load(ordering: .relaxed) }

    final class Counts: Sendable {
        let accepted = Atomic(0)
        let open = Atomic(0)
        let mostAtOnce = Atomic(0)
    }

    private init(port: Int, counts: Counts) {
        self.port = port
        self.counts = counts
    }

    static func with<T>(_ body: (TinyServer) async throws -> T) async throws -> T {
        let counts = Counts()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let id = counts.accepted.wrappingAdd(1, ordering: .relaxed).newValue
                let open = counts.open.wrappingAdd(1, ordering: .relaxed).newValue
                counts.mostAtOnce.max(open, ordering: .relaxed)
                channel.closeFuture.whenComplete { _ in counts.open.wrappingSubtract(1, ordering: .relaxed) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Answerer(connection: "c\(id)"))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = TinyServer(port: channel.localAddress!.port!, counts: counts)
        do {
            let result = try await body(server)
            try await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }

    final class Answerer: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let connection: String
        var uri = ""
        var body = ByteBuffer()

        init(connection: String) { self.connection = connection }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): uri = head.uri; body.clear()
            case .body(var part): body.writeBuffer(&part)
            case .end: answer(context)
            }
        }

        private func answer(_ context: ChannelHandlerContext) {
            let path = uri.prefix { $0 != "?" }
            let delay = Int(uri.split(separator: "=").last ?? "") ?? 0
            switch path {
            case "/hangup": context.close(promise: nil)
            case "/slow":
                let loop = context.eventLoop
                let bound = NIOLoopBound((self, context), eventLoop: loop)
                loop.scheduleTask(in: .milliseconds(Int64(delay))) { bound.value.0.send(bound.value.1, body: bound.value.0.body) }
            case "/big": send(context, body: ByteBuffer(repeating: UInt8(ascii: "x"), count: 10_000))
            case "/close": send(context, body: ByteBuffer(), close: true)
            case "/close-soon":
                send(context, body: ByteBuffer())
                let channel = context.channel
                context.eventLoop.scheduleTask(in: .milliseconds(50)) { channel.close(promise: nil) }
            default: send(context, body: body)
            }
        }

        private func send(_ context: ChannelHandlerContext, body: ByteBuffer, close: Bool = false) {
            var headers = HTTPHeaders([("x-connection", connection), ("content-length", String(body.readableBytes))])
            if close { headers.add(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if close { let channel = context.channel; done.whenComplete { _ in channel.close(promise: nil) } }
        }
    }
}
