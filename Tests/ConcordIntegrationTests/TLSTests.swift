import AsyncHTTPClient
import ConcordHTTP
import ConcordModels
import ConcordRedis
import Foundation
import NIOSSL
import Testing

/// TLS on every link: edges serve HTTPS and WSS and take a renewed certificate without dropping
/// anyone; the cells' internal APIs take only processes showing a certificate of the cluster's
/// CA (mutual TLS). The cross-cell suites run over internal TLS too (`TestCluster`'s default
/// for more than one cell).
@Suite("TLS")
struct TLSTests {
    /// GET `url`, answering the status, or nil when the connection or its handshake failed.
    static func status(_ url: String, tls: TLSConfiguration?, secret: String? = nil) async -> Int? {
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = tls
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(5))
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        var request = HTTPClientRequest(url: url)
        if let secret { request.headers.add(name: "X-Concord-Internal", value: secret) }
        var status: Int?
        if let response = try? await client.execute(request, timeout: .seconds(10)) {
            _ = try? await response.body.collect(upTo: 1 << 20)
            status = Int(response.status.code)
        }
        try? await client.shutdown()
        return status
    }

    static func trusting(_ ca: String, showing certificates: TestCertificates? = nil, as process: String = "concordctl") throws -> TLSConfiguration {
        guard let certificates else {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .file(ca)
            return configuration
        }
        var configuration = try InternalTLS.client(.init(ca: certificates.ca, directory: certificates.directory), process: process)
        configuration.trustRoots = .file(ca)
        return configuration
    }

    @Test func cellsTakeOnlyProcessesWithACertificateOfTheCluster() async throws {
        try await TestCluster.with(cells: 2) { c in
            let tls = try #require(c.config.internal_tls)
            let cell = c.config.cells[1]
            let url = cell.apiURL(from: cell.region, secure: true) + "/internal/relay/cursor?source=1"
            #expect(url.hasPrefix("https://"))
            let ours = TestCertificates(directory: tls.directory)
            #expect(await Self.status(url, tls: try Self.trusting(tls.ca, showing: ours), secret: c.secrets.internalSecret) == 200)
            #expect(await Self.status(url, tls: try Self.trusting(tls.ca, showing: ours)) == 401, "the internal secret is still asked for")

            #expect(await Self.status(url.replacingOccurrences(of: "https://", with: "http://"), tls: nil, secret: c.secrets.internalSecret) == nil,
                    "no plain HTTP")
            #expect(await Self.status(url, tls: try Self.trusting(tls.ca), secret: c.secrets.internalSecret) == nil, "no client certificate")
            let stranger = try await ours.stranger()
            try await stranger.issue("concordctl")
            #expect(await Self.status(url, tls: try Self.trusting(tls.ca, showing: stranger), secret: c.secrets.internalSecret) == nil,
                    "a certificate of another CA")
            #expect(await Self.status(url, tls: try Self.trusting(stranger.ca, showing: ours), secret: c.secrets.internalSecret) == nil,
                    "a client that does not trust the cluster's CA does not trust the cell")

            // The cells' PostgreSQL and Redis are reached over TLS too, where the test servers take it.
            guard TestServers.tlsDirectory != nil else { return }
            for domain in c.domains { #expect(try await domain.db.connectionIsEncrypted(), "PostgreSQL says the connection is TLS") }
            #expect(try await c.domain.redis.send("PING") == .status("PONG"))
            let redis = c.config.cells[0].redis
            #expect(c.config.cells[0].redis_tls == true)
            let plain = RedisClient(host: redis.host, port: redis.port)
            await #expect(throws: (any Error).self, "plain Redis on its TLS port") { try await plain.send("PING") }
            await plain.close()
            var strangers = try InternalTLS.client(.init(ca: tls.ca, directory: stranger.directory), process: "concordctl")
            strangers.certificateVerification = .noHostnameVerification
            let foreign = RedisClient(host: redis.host, port: redis.port, tls: try NIOSSLContext(configuration: strangers))
            await #expect(throws: (any Error).self, "Redis takes no certificate of another CA") { try await foreign.send("PING") }
            await foreign.close()
            // A TLS connection that never comes up (nothing listens; a link that closes at once, as a
            // delay proxy does while Redis is down) fails the call: it once left a promise
            // unanswered, which stops a debug build (`make run`'s) with "leaking promise".
            let ourTLS = try NIOSSLContext(configuration: try InternalTLS.client(tls, process: "concordctl"))
            let nobody = RedisClient(host: "127.0.0.1", port: try TestServers.freePort(), tls: ourTLS)
            await #expect(throws: RedisError.self) { try await nobody.send("PING") }
            await nobody.close()
            let link = try await DelayProxy.start(to: try TestServers.freePort(), delayMilliseconds: 1)
            let cut = RedisClient(host: "127.0.0.1", port: link.port, tls: ourTLS)
            await #expect(throws: RedisError.self) { try await cut.send("PING") }
            await cut.close()
            link.stop()
        }
    }

    @Test func edgesServeHTTPSAndWSSAndTakeARenewedCertificateWithoutDroppingSessions() async throws {
        try await TestCluster.with(publicTLS: true) { c in
            #expect(c.edgeURL.hasPrefix("https://"))
            let ca = try #require(c.config.edges[0].tls).certificate.replacingOccurrences(of: "edge-1.pem", with: "ca.pem")
            let pair = try await c.workspaceOfTwo("Secure")
            let gateway = try #require(try await c.request(.GET, "/gateway").json?["url"]?.stringValue)
            #expect(gateway.hasPrefix("wss://"))

            // By name: a TLS client sends no IP address as the server name (SNI).
            let session = GatewayTestClient(url: GatewayFrames.url(c.edgeURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")), tls: try Self.trusting(ca))
            session.send(GatewayFrames.identify(pair.member.token))
            _ = try await session.waitDispatch("GUILD_CREATE")
            #expect(await Self.status(c.edgeURL + "/api/v10/gateway", tls: nil) == nil, "a client that does not trust the CA refuses the edge")
            #expect(await Self.status(c.edgeURL.replacingOccurrences(of: "https://", with: "http://") + "/api/v10/gateway", tls: nil) == nil)

            // Renewed in place: new connections get the new certificate within seconds; the
            // session opened before it goes on.
            let before = try await Self.servedSerial(port: c.edgePort)
            try await TestCertificates(directory: URL(fileURLWithPath: ca).deletingLastPathComponent().path).issue("edge-1")
            var after = before
            for _ in 0..<40 where after == before {
                try await Task.sleep(for: .milliseconds(250))
                after = try await Self.servedSerial(port: c.edgePort)
            }
            #expect(after != before && !after.isEmpty, "the renewed certificate is served")
            let sent = try await c.request(.POST, "/channels/\(pair.general)/messages", token: pair.owner.token, body: MessageCreateRequest(content: "still here"))
            #expect(sent.status == 200)
            let created = try await session.waitDispatch("MESSAGE_CREATE")
            #expect(created["d"]?["content"]?.stringValue == "still here", "the session from before the renewal still receives")
        }
    }

    /// The serial number of the certificate the server at `port` presents, read by openssl.
    static func servedSerial(port: Int) async throws -> String {
        let result = try await Subprocess.run("/bin/bash", ["-c", "openssl s_client -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -serial"],
                                              timeout: .seconds(10))
        return result.log.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
