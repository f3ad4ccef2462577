import ConcordModels
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// Kept-alive HTTP/1.1 connections to the cells, one call at a time on each, for the calls
/// answered whole (nearly all of them; files streamed as they come take the HTTP client).
/// A general client's request path was a quarter of an edge's CPU per message sent: this one
/// writes a request head and reads an answer, nothing else.
///
/// Up to `maximumPerOrigin` connections are open to one cell; a call beyond them waits for
/// one to come back. A connection the cell closes while idle leaves the pool when it closes.
public final class CellConnections: Sendable {
    struct Origin: Hashable, Sendable {
        var secure: Bool
        var host: String
        var port: Int

        /// As a Host header names it (an IPv6 address in brackets).
        var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    typealias Places = ConnectionPlaces<any Channel, CheckedContinuation<ConnectionGrant<any Channel>, any Error>>

    private struct State {
        var pools: [Origin: Places] = [:]
        var shutDown = false
    }

    private let group: any EventLoopGroup
    private let tls: Result<NIOSSLContext, any Error>?
    private let connectTimeout: TimeAmount
    let maximumPerOrigin: Int
    private let state = Mutex(State())
    /// Ids of calls that may wait, counted outside the lock: a call granted a place at once takes it once.
    private let waiterIDs = Atomic<Int>(0)

    /// `tls`: where the cells' internal API is HTTPS, the process's client side of it.
    public init(tls: TLSConfiguration?, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                connectTimeout: TimeAmount = .seconds(2), maximumPerOrigin: Int = 64) {
        self.group = group
        // A context that cannot be made fails each call (the files were read when the
        // configuration was); the process does not stop for it.
        self.tls = tls.map { configuration in Result { try NIOSSLContext(configuration: configuration) } }
        self.connectTimeout = connectTimeout
        self.maximumPerOrigin = maximumPerOrigin
    }

    /// Sends one request to `base` (a cell's `scheme://host:port`) and reads its answer whole.
    /// A request whose write failed on a reused connection (the cell closed it as the call
    /// began) goes once more on a new one: the cell never saw it.
    func exchange(base: String, method: HTTPMethod, path: String, headers: HTTPHeaders, body: ByteBuffer?,
                  limit: Int, timeout: TimeAmount) async throws -> CellReply {
        let origin = try Self.origin(of: base)
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
        head.headers.replaceOrAdd(name: "Host", value: origin.authority)
        head.headers.replaceOrAdd(name: "Content-Length", value: String(body?.readableBytes ?? 0))
        let deadline = NIODeadline.now() + timeout
        for attempt in 0..<2 {
            let (channel, reused) = try await lease(origin, deadline: deadline)
            do {
                let answer = try await call(channel, head: head, body: body, limit: limit, deadline: deadline)
                giveBack(channel, to: origin, reusable: answer.reusable)
                return answer.reply
            } catch CallError.unsent(let error) {
                giveBack(channel, to: origin, reusable: false)
                if attempt == 0, reused { continue }
                throw error
            } catch {
                giveBack(channel, to: origin, reusable: false)
                throw error
            }
        }
        throw CellConnectionError.closed
    }

    /// Closes the idle connections; later calls fail.
    public func shutdown() {
        let (idle, waiters) = state.withLock { state in
            state.shutDown = true
            let emptied = state.pools.keys.compactMap { state.pools[$0]?.shutDown() }
            state.pools = [:]
            return (emptied.flatMap(\.idle), emptied.flatMap(\.waiters))
        }
        for channel in idle { channel.close(promise: nil) }
        for waiter in waiters { waiter.resume(throwing: CellConnectionError.closed) }
    }

    /// Connections open now to every cell (idle and in use), and calls waiting for one.
    public var usage: (open: Int, waiting: Int) {
        state.withLock { state in
            state.pools.values.reduce(into: (open: 0, waiting: 0)) { sum, pool in
                sum.open += pool.open
                sum.waiting += pool.waiting
            }
        }
    }

    /// Connections open to `base` now (idle and in use), for tests.
    func openConnections(to base: String) -> Int {
        guard let origin = try? Self.origin(of: base) else { return 0 }
        return state.withLock { $0.pools[origin]?.open ?? 0 }
    }

    // MARK: The pool

    private func lease(_ origin: Origin, deadline: NIODeadline) async throws -> (any Channel, reused: Bool) {
        let id = waiterIDs.add(1, ordering: .relaxed).newValue
        // Set only for a call that has to wait: it gives up at its own deadline, however long
        // the calls holding the places may take. A call that gets a place at once schedules nothing.
        var expiry: Scheduled<Void>?
        defer { expiry?.cancel() }
        let grant = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ConnectionGrant<any Channel>, any Error>) in
                let granted = state.withLock { state -> Result<ConnectionGrant<any Channel>, any Error>? in
                    guard !state.shutDown else { return .failure(CellConnectionError.closed) }
                    guard !Task.isCancelled else { return .failure(CancellationError()) }
                    if let grant = Self.grant(&state.pools[origin, default: Places(maximum: maximumPerOrigin)]) { return .success(grant) }
                    guard NIODeadline.now() < deadline else { return .failure(CellConnectionError.timedOut) }
                    state.pools[origin]?.wait(continuation, id: id)
                    return nil
                }
                if let granted { return continuation.resume(with: granted) }
                // On the caller's event loop (see `grant`): the timer wakes no other thread.
                expiry = group.any().scheduleTask(deadline: deadline) { [weak self] in
                    self?.stopWaiting(origin, id: id, because: CellConnectionError.timedOut)
                }
            }
        } onCancel: {
            stopWaiting(origin, id: id, because: CancellationError())
        }
        switch grant {
        case .idle(let channel):
            return (channel, true)
        case .open:
            do {
                return (try await connect(origin, deadline: deadline), false)
            } catch {
                giveBack(nil, to: origin, reusable: false)
                throw error
            }
        }
    }

    /// An idle connection, the last one back that lives on the caller's event loop if there is
    /// one (the call and its answer then stay on that thread, with no wake-up of another), else
    /// the last one back; or leave to open one.
    static func grant(_ places: inout Places) -> ConnectionGrant<any Channel>? {
        places.grant(alive: { $0.isActive }, preferred: { $0.eventLoop.inEventLoop })
    }

    /// A call still waiting for a place leaves the queue, failed with `error`.
    private func stopWaiting(_ origin: Origin, id: Int, because error: any Error) {
        state.withLock { $0.pools[origin]?.stopWaiting(id) }?.resume(throwing: error)
    }

    /// A connection back from a call (nil: one that never opened). A reusable one goes to the
    /// first waiter or into the pool; any other closes, and its place goes to the first waiter.
    private func giveBack(_ channel: (any Channel)?, to origin: Origin, reusable: Bool) {
        let (close, handed) = state.withLock { state -> (Bool, (CheckedContinuation<ConnectionGrant<any Channel>, any Error>, ConnectionGrant<any Channel>)?) in
            guard !state.shutDown else { return (true, nil) }
            if reusable, let channel, channel.isActive { return (false, state.pools[origin]?.giveBack(channel)) }
            return (true, state.pools[origin]?.freePlace().map { ($0, .open) })
        }
        if close { channel?.close(promise: nil) }
        if let (waiter, grant) = handed { waiter.resume(returning: grant) }
    }

    /// An idle connection the cell closed: out of the pool, its place to the first waiter.
    private func forget(_ channel: any Channel, from origin: Origin) {
        state.withLock { $0.pools[origin]?.forget(matching: { $0 === channel }) }?.resume(returning: .open)
    }

    // MARK: One connection

    private enum CallError: Error {
        /// The request could not be written: the cell has not seen it.
        case unsent(any Error)
    }

    private func call(_ channel: any Channel, head: HTTPRequestHead, body: ByteBuffer?, limit: Int, deadline: NIODeadline) async throws -> CellAnswer {
        let answer = channel.eventLoop.makePromise(of: CellAnswer.self)
        let timeout = channel.eventLoop.scheduleTask(deadline: deadline) {
            answer.fail(CellConnectionError.timedOut)
            channel.close(promise: nil)
        }
        defer { timeout.cancel() }
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(CellExchange(head: head, body: body, limit: limit, answer: answer), promise: written)
        return try await withTaskCancellationHandler {
            do {
                try await written.futureResult.get()
            } catch {
                answer.fail(error)
                // Closed by the call's own timeout before its request went out (a connection
                // slow to open): the call timed out.
                throw CallError.unsent(NIODeadline.now() >= deadline ? CellConnectionError.timedOut : error)
            }
            return try await answer.futureResult.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    private func connect(_ origin: Origin, deadline: NIODeadline) async throws -> any Channel {
        let tls = origin.secure ? try (self.tls ?? .failure(CellConnectionError.noTLS)).get() : nil
        let serverName = Self.isAddress(origin.host) ? nil : origin.host
        // On the caller's event loop when it runs on one of the group's (as its later calls
        // will, see `takeIdle`), else on the next.
        let bootstrap = ClientBootstrap(group: group.any())
            .connectTimeout(max(.zero, min(connectTimeout, deadline - .now())))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls { try sync.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(CellExchangeHandler { [weak self, weak channel] in
                        if let self, let channel { self.forget(channel, from: origin) }
                    })
                }
            }
        return try await bootstrap.connect(host: origin.host, port: origin.port).get()
    }

    // MARK: Addresses

    static func origin(of base: String) throws -> Origin {
        let secure: Bool
        let rest: Substring
        if base.hasPrefix("https://") { secure = true; rest = base.dropFirst(8) }
        else if base.hasPrefix("http://") { secure = false; rest = base.dropFirst(7) }
        else { throw CellConnectionError.badAddress(base) }
        let authority = rest.prefix { $0 != "/" }
        let host: Substring
        var port = secure ? 443 : 80
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = authority[authority.index(after: authority.startIndex)..<close]
            if let colon = authority[close...].firstIndex(of: ":"), let number = Int(authority[authority.index(after: colon)...]) { port = number }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let number = Int(authority[authority.index(after: colon)...]) else { throw CellConnectionError.badAddress(base) }
            port = number
        } else {
            host = authority
        }
        return Origin(secure: secure, host: String(host), port: port)
    }

    /// An IP address goes in no SNI; the certificate is checked against the address instead.
    static func isAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}
