import ConcordModels
import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// A server's TLS, its certificate replaceable while it runs: each new connection takes the
/// context made from the files as they are now (they are looked at again at most every few
/// seconds), and connections already open keep theirs, so renewing a certificate drops no one.
public final class ServerTLS: Sendable {
    public let certificate: String
    public let key: String
    /// Where set, clients must show a certificate this CA signed (mutual TLS between processes).
    public let clientCA: String?
    /// What is watched for a renewal: the certificate, the key and the CA when there is one.
    let files: [String]
    static let recheck: Duration = .seconds(5)

    private struct State {
        var context: NIOSSLContext
        var stamp: [Date?]
        var checked: ContinuousClock.Instant
    }
    private let state: Mutex<State>

    public init(certificate: String, key: String, clientCA: String? = nil) throws {
        self.certificate = certificate
        self.key = key
        self.clientCA = clientCA
        files = [certificate, key] + (clientCA.map { [$0] } ?? [])
        state = Mutex(State(context: try Self.context(certificate: certificate, key: key, clientCA: clientCA),
                            stamp: Self.stamp(files), checked: .now))
    }

    /// The context for a new connection; made again first if the files changed and still load
    /// (a half-written renewal keeps the old context until it is whole). At most every 5 s a
    /// connection's set-up looks at the files' times (three stats); only a renewal reads them.
    public var current: NIOSSLContext {
        state.withLock { state in
            let now = ContinuousClock.now
            guard now - state.checked >= Self.recheck else { return state.context }
            state.checked = now
            let stamp = Self.stamp(files)
            if stamp != state.stamp, let fresh = try? Self.context(certificate: certificate, key: key, clientCA: clientCA) {
                state.context = fresh
                state.stamp = stamp
            }
            return state.context
        }
    }

    static func stamp(_ files: [String]) -> [Date?] {
        files.map { (try? FileManager.default.attributesOfItem(atPath: $0))?[.modificationDate] as? Date }
    }

    static func context(certificate: String, key: String, clientCA: String?) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCA {
            configuration.trustRoots = .file(clientCA)
            // A client is a process, not a host name: its certificate must be the CA's, no more.
            configuration.certificateVerification = .noHostnameVerification
        }
        return try NIOSSLContext(configuration: configuration)
    }
}

/// TLS in front of a server's connections (`ServerTLS`'s current context for each). The TLS
/// handler goes first in the pipeline, so handlers that read the plain request come after it.
public struct TLSServerChannel<Base: ServerChildChannel>: ServerChildChannel {
    public typealias Value = Base.Value
    let base: Base
    let tls: ServerTLS

    public init(_ base: Base, tls: ServerTLS) {
        self.base = base
        self.tls = tls
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let context = tls.current
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context), position: .first)
        }.flatMap { base.setup(channel: channel, logger: logger) }
    }

    public func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension TLSServerChannel: HTTPChannelHandler where Base: HTTPChannelHandler {
    public var responder: HTTPChannelHandler.Responder { base.responder }
}

public struct TLSSetupError: Error, CustomStringConvertible {
    public let description: String
}

/// How Concord's processes reach each other when the cluster has internal TLS: they check the
/// other side's certificate against the cluster's CA and show their own.
public enum InternalTLS {
    /// The client side for `process` (a cell, edge or relay name, or `concordctl`).
    public static func client(_ tls: ClusterConfig.InternalTLS, process: String) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(tls.ca)
        configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(tls.certificate(for: process)).map { .certificate($0) }
        configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: tls.key(for: process), format: .pem))
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }

    /// A cell's Redis where the cell says `redis_tls`: the process shows its certificate and
    /// checks Redis's against the cluster's CA (any name: that CA signs only the cluster's own).
    public static func redis(_ cell: ClusterConfig.Cell, tls: ClusterConfig.InternalTLS?, process: String) throws -> NIOSSLContext? {
        guard cell.redis_tls == true else { return nil }
        guard let tls else { throw TLSSetupError(description: "cell \(cell.name) has redis_tls but the cluster has no internal_tls") }
        var configuration = try client(tls, process: process)
        configuration.certificateVerification = .noHostnameVerification
        return try NIOSSLContext(configuration: configuration)
    }

    /// A cell's PostgreSQL by its `postgres.tls`: `require` encrypts; `verify-ca` also checks
    /// the server's certificate against the cluster's CA; `verify-full` also its host name.
    public static func postgres(_ postgres: ClusterConfig.Postgres, tls: ClusterConfig.InternalTLS?) throws -> TLSConfiguration? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        switch postgres.tls ?? "disable" {
        case "disable": return nil
        case "require": configuration.certificateVerification = .none
        case "verify-ca": configuration.certificateVerification = .noHostnameVerification
        case "verify-full": configuration.certificateVerification = .fullVerification
        case let other: throw TLSSetupError(description: "postgres.tls is disable, require, verify-ca or verify-full, not \(other)")
        }
        if let ca = tls?.ca, configuration.certificateVerification != .none { configuration.trustRoots = .file(ca) }
        return configuration
    }

    /// The server side of a cell's internal API: only processes with the CA's certificates get in.
    public static func server(_ tls: ClusterConfig.InternalTLS, process: String) throws -> ServerTLS {
        try ServerTLS(certificate: tls.certificate(for: process), key: tls.key(for: process), clientCA: tls.ca)
    }
}
