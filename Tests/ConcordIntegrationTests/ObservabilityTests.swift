import ConcordCell
import ConcordModels
import ConcordObservability
import ConcordRelay
import ConcordStorage
import Foundation
import Testing

/// Every process's admin listener: Prometheus metrics that count what happened, liveness, and
/// readiness that follows its dependencies; the Grafana dashboard names only exported metrics.
@Suite("Metrics and health")
struct ObservabilityTests {
    /// The value of one sample line (`name{labels} value`) in a Prometheus exposition.
    static func sample(_ exposition: String, _ series: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    /// The relay into a cell reports, per source cell, the source's outbox head, how far it has
    /// applied it and how far behind it is: behind while stopped, caught up once running again.
    @Test func theRelayReportsHowFarBehindEachSourceItIs() async throws {
        try await TestCluster.with(cells: 2) { c in
            let source = c.config.cells[0].name
            func series(_ name: MetricName) -> String { "\(name.rawValue){source=\"\(source)\"}" }
            let metrics = NodeMetrics()
            let relay = CellTests.RelayRunner {
                Relay(config: c.config, destination: c.config.cells[1], internalSecret: c.secrets.internalSecret,
                      pollInterval: .milliseconds(100), metrics: metrics, logger: TestServers.logger)
            }
            func caughtUp() async throws -> Bool {
                let head = Double(try await c.domain.db.outboxHead())
                let scrape = metrics.scrape()
                return Self.sample(scrape, series(.relayLagRows)) == 0 && Self.sample(scrape, series(.relaySourceHead)) == head
                    && Self.sample(scrape, series(.relayAppliedThrough)) == head
            }
            let (_, token) = try await c.register("before")
            relay.start()
            for _ in 0..<100 where try await !caughtUp() { try await Task.sleep(for: .milliseconds(100)) }
            #expect(try await caughtUp(), "\(metrics.scrape())")
            #expect(Self.sample(metrics.scrape(), series(.relayLagSeconds)) == 0)

            // Stopped, it falls behind; started again, it reports the rows it must catch up, then none.
            await relay.stop()
            for n in 0..<5 {
                _ = try await c.request(.POST, "/guilds", token: token, body: GuildCreateRequest(name: "while stopped \(n)")).decode(Guild.self)
            }
            let behind = Double(try await c.domain.db.outboxHead()) - (Self.sample(metrics.scrape(), series(.relayAppliedThrough)) ?? 0)
            #expect(behind > 0, "the source moved on while the relay was stopped")
            relay.start()
            for _ in 0..<100 where try await !caughtUp() { try await Task.sleep(for: .milliseconds(100)) }
            #expect(try await caughtUp(), "\(metrics.scrape())")
            // Each page read and each page applied (the rows it moved past) is timed, per source.
            for step in ["page", "apply"] {
                let counted = metrics.scrape().split(separator: "\n").first {
                    $0.hasPrefix(MetricName.relayStepDuration.rawValue + "_count{") && $0.contains("source=\"\(source)\"") && $0.contains("step=\"\(step)\"")
                }
                #expect((counted?.split(separator: " ").last.flatMap { Double($0) } ?? 0) > 0, "\(step): \(metrics.scrape())")
            }
            await relay.stop()
        }
    }

    /// A request id goes edge → cell and comes back: the client's own when sound, else a new one.
    @Test func requestsCarryAnIdAnsweredBack() async throws {
        try await TestCluster.with { c in
            let (_, token) = try await c.register("ids")
            let given = try await c.request(.GET, "/users/@me", token: token, headers: [("X-Request-Id", "client-chosen-1")])
            #expect(given.status == 200 && given.headers.first(name: "X-Request-Id") == "client-chosen-1")
            let made = try await c.request(.GET, "/users/@me", token: token, headers: [("X-Request-Id", "not sound!")])
            #expect(made.headers.first(name: "X-Request-Id")?.count == 32, "a new one: a W3C trace id")
            // A tracing proxy's traceparent: its trace id becomes the request's id.
            let traced = try await c.request(.GET, "/users/@me", token: token,
                                             headers: [("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")])
            #expect(traced.headers.first(name: "X-Request-Id") == "4bf92f3577b34da6a3ce929d0e0e4736")
            let zeros = try await c.request(.GET, "/users/@me", token: token, headers: [("traceparent", "00-" + String(repeating: "0", count: 32) + "-00f067aa0ba902b7-01")])
            #expect(zeros.headers.first(name: "X-Request-Id") != String(repeating: "0", count: 32), "an all-zero trace id is invalid")
            let failed = try await c.request(.GET, "/channels/12345/messages", token: token)
            #expect(failed.status == 404 && failed.headers.first(name: "X-Request-Id")?.isEmpty == false, "errors carry it too")
        }
    }

    @Test func metricsCountRequestsSessionsDeliveriesAndTheOutbox() async throws {
        let redis = try OwnRedis()
        try await redis.start()
        let limits = ClusterConfig.RateLimits(requestsPerSecond: 1000, messageSendsPer5s: 3, publicRequestsPerSecond: 10_000,
                                              authRequestsPerMinute: 1_000_000, loginsPerMinutePerAccount: 1_000_000)
        try await TestCluster.with(rateLimits: limits, redisPort: redis.port, admin: true) { c in
            let (cellAdmin, edgeAdmin) = (c.adminURLs[0], c.adminURLs[1])
            func get(_ url: String) async throws -> TestCluster.Reply { try await c.request(.GET, url, absolute: true) }
            let (_, alice) = try await c.register("alice")
            let guild = try await c.request(.POST, "/guilds", token: alice, body: GuildCreateRequest(name: "Watched")).decode(Guild.self)
            // Everything written so far published, so the identify below is a quiet one.
            try await eventually("the outbox published") {
                let head = try await c.domain.db.outboxHead()
                return try await c.domain.db.cursor(OutboxPublisher.consumer) == head && head > 0
            }
            let session = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            session.send(GatewayFrames.identify(alice))
            try await session.waitDispatch("GUILD_CREATE")
            // Four sends at once against a window of three: three pass, one is refused (sent at
            // once, so a slow machine cannot let the 5-second window end between them).
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<4 {
                    group.addTask {
                        try await c.request(.POST, "/channels/\(guild.system_channel_id!)/messages", token: alice, body: MessageCreateRequest(content: "\(i)")).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.sorted() == [200, 200, 200, 429], "\(statuses)")
            try await eventually("three messages delivered") { session.dispatches("MESSAGE_CREATE").count == 3 }
            #expect(try await c.request(.GET, "/users/@me", token: "Bot nope").status == 401)
            // A session that drops and resumes, and one the edge closes (a bad token: 4004).
            let ready = try await session.waitDispatch("READY")
            let sessionID = try #require(ready["d"]?["session_id"]?.stringValue)
            let lastSeq = session.all.compactMap { $0["s"]?.intValue }.max() ?? 0
            session.close()
            let resumed = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            resumed.send(#"{"op":6,"d":{"token":"\#(alice)","session_id":"\#(sessionID)","seq":\#(lastSeq)}}"#)
            try await resumed.waitDispatch("RESUMED")
            let refused = GatewayTestClient(url: GatewayFrames.url(c.edgeURL))
            refused.send(GatewayFrames.identify("not-a-token"))
            #expect(await refused.closeCode() == .unknown(4004))

            let edge = try await get(edgeAdmin + "/metrics")
            #expect(edge.status == 200 && edge.headers["Content-Type"].first?.hasPrefix("text/plain") == true)
            let edgeText = edge.text
            #expect(Self.sample(edgeText, #"concord_http_requests_total{route="createMessage",status="200"}"#) == 3, "\(edgeText.prefix(3000))")
            #expect(Self.sample(edgeText, #"concord_http_requests_total{route="getCurrentUser",status="401"}"#) == 1)
            #expect(Self.sample(edgeText, #"concord_http_request_duration_seconds_count{route="createMessage"}"#) == 4, "three sent, one refused")
            // Each call to a cell is timed as the edge saw it, as many as it counted.
            let calls = try #require(Self.sample(edgeText, "concord_edge_cell_calls_total"))
            #expect(calls >= 3 && Self.sample(edgeText, "concord_edge_cell_call_duration_seconds_count") == calls)
            #expect(Self.sample(edgeText, "concord_gateway_sessions") == 1)
            // The calls went over kept-alive connections, none left waiting for one.
            #expect((Self.sample(edgeText, "concord_edge_cell_connections") ?? 0) >= 1)
            #expect(Self.sample(edgeText, "concord_edge_cell_calls_waiting") == 0)
            #expect(Self.sample(edgeText, "concord_gateway_identifies_total") == 1)
            // Nothing was written between READY and the session's subscriptions: the cell's
            // published position said so, and no outbox read was made.
            #expect(Self.sample(edgeText, #"concord_gateway_identify_read_backs_total{outcome="skipped"}"#) == 1, "\(edgeText.prefix(4000))")
            #expect(Self.sample(edgeText, #"concord_gateway_identify_read_backs_total{outcome="read"}"#) ?? 0 == 0)
            // The one IDENTIFY that went through is timed step by step (the refused one stopped at its token).
            for step in ["verify", "session_start", "ready_states", "send", "subscribe", "presence", "read_back"] {
                #expect(Self.sample(edgeText, #"concord_gateway_identify_step_seconds_count{step="\#(step)"}"#) == 1, "step \(step)")
            }
            #expect(Self.sample(edgeText, "concord_gateway_resumes_total") == 1)
            #expect(Self.sample(edgeText, #"concord_gateway_closes_total{code="4004"}"#) == 1)
            #expect(Self.sample(edgeText, #"concord_rate_limited_total{scope="user"}"#) == 1)
            // READY, GUILD_CREATE and the three messages, at least (presence may add more).
            #expect((Self.sample(edgeText, "concord_gateway_deliveries_total") ?? 0) >= 5)

            let cellText = try await get(cellAdmin + "/metrics").text
            #expect(Self.sample(cellText, #"concord_http_requests_total{route="createMessage",status="200"}"#) == 3, "\(cellText.prefix(3000))")
            let head = try #require(Self.sample(cellText, "concord_outbox_head"))
            #expect(head >= 4, "the workspace and three messages at least")
            #expect(Self.sample(cellText, "concord_outbox_lag_rows") != nil)
            // Its PostgreSQL pool and statements, its Redis; the edge's round trips to that Redis.
            #expect((Self.sample(cellText, "concord_postgres_statement_duration_seconds_count") ?? 0) > 10)
            #expect(Self.sample(cellText, "concord_postgres_connections_max") == 20)
            #expect(Self.sample(cellText, "concord_postgres_connections_in_use") != nil)
            #expect((Self.sample(cellText, "concord_postgres_lease_wait_seconds_count") ?? 0) > 10)
            let redisLabel = "{cell=\"\(c.cellName)\"}"
            #expect((Self.sample(cellText, "concord_redis_round_trip_seconds_count" + redisLabel) ?? 0) > 3, "publishing, presence, revocations")
            #expect((Self.sample(edgeText, "concord_redis_round_trip_seconds_count" + redisLabel) ?? 0) > 3, "revocation checks, rate limits")
            #expect(Self.sample(cellText, "concord_redis_reconnects_total" + redisLabel) == 0)
            // What the operator's tool did, from the cell's records: nothing yet.
            #expect(Self.sample(cellText, "concord_tier_runs") == 0 && Self.sample(cellText, #"concord_workspace_moves{phase="done"}"#) == 0)

            for url in [cellAdmin, edgeAdmin] {
                #expect(try await get(url + "/healthz").status == 200)
                #expect(try await get(url + "/readyz").status == 200)
            }
            // The Redis both depend on goes away: neither is ready, both are still alive.
            await redis.stop()
            for url in [cellAdmin, edgeAdmin] {
                let ready = try await get(url + "/readyz")
                #expect(ready.status == 503 && ready.text.contains("redis"), "\(url): \(ready.status) \(ready.text)")
                #expect(try await get(url + "/healthz").status == 200)
            }
            try await redis.start()
            try await eventually("ready again") { try await get(cellAdmin + "/readyz").status == 200 }
            resumed.close()
            let afterRestart = try await get(cellAdmin + "/metrics").text
            #expect((Self.sample(afterRestart, "concord_redis_reconnects_total" + redisLabel) ?? 0) >= 1, "the Redis restart is a reconnect")
            #expect((Self.sample(afterRestart, "concord_redis_errors_total" + redisLabel) ?? 0) >= 1, "calls failed while it was down")

            // Every query of the dashboard in infra/ names a metric Concord declares and exports.
            let dashboard = try JSONSerialization.jsonObject(with: Data(contentsOf: TestServers.repositoryRoot
                .appendingPathComponent("infra/grafana/concord-dashboard.json"))) as? [String: Any]
            let expressions = (dashboard?["panels"] as? [[String: Any]] ?? []).flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
            #expect(expressions.count >= 8)
            let named = Set(expressions.flatMap { expr in
                expr.matches(of: /concord_[a-z_]+/).map { String($0.output).replacing(/_(bucket|sum|count)$/, with: "") }
            })
            let exported = edgeText + cellText + (try await get(cellAdmin + "/metrics").text)
            for name in named.sorted() {
                #expect(MetricName(rawValue: name) != nil, "the dashboard names \(name), which Concord does not declare")
                // A relay's own metrics are scraped in theRelayReportsHowFarBehindEachSourceItIs (no relay runs here).
                if name.hasPrefix("concord_relay_") { continue }
                #expect(exported.contains("\n\(name)") || exported.hasPrefix(name), "the dashboard names \(name), which no scrape showed")
            }
        }
        await redis.stop()
    }
}
