import CoreMetrics
import Prometheus

/// One process's metrics (a cell's, an edge's): swift-metrics instruments backed by a Prometheus
/// registry of the node's own, so that several nodes in one process (as in the tests) keep
/// theirs apart. Every metric's name is declared in `MetricName`.
public final class NodeMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [.microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                                                   .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                                   .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5)]
        self.factory = factory
    }

    public func counter(_ name: MetricName, _ dimensions: [(String, String)] = []) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: name.rawValue, dimensions: dimensions, factory: factory)
    }

    public func gauge(_ name: MetricName, _ dimensions: [(String, String)] = []) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: name.rawValue, dimensions: dimensions, factory: factory)
    }

    public func timer(_ name: MetricName, _ dimensions: [(String, String)] = []) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: name.rawValue, dimensions: dimensions, factory: factory)
    }

    /// One answered HTTP request: counted by route and status, timed by route.
    public func request(route: String, status: Int, duration: Duration) {
        counter(.httpRequests, [("route", route), ("status", String(status))]).increment()
        timer(.httpRequestDuration, [("route", route)]).recordNanoseconds(duration.nanoseconds)
    }

    /// The Prometheus text exposition of everything recorded.
    public func scrape() -> String { registry.emitToString() }
}

extension Duration {
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// Every metric Concord exports, in one place: the dashboard in infra/ may name only these.
public enum MetricName: String, CaseIterable, Sendable {
    // REST, at the edge and at the cell.
    case httpRequests = "concord_http_requests_total"
    case httpRequestDuration = "concord_http_request_duration_seconds"
    case rateLimited = "concord_rate_limited_total"
    /// Calls an edge made to cells (against its requests: the hops a request takes).
    case edgeCellCalls = "concord_edge_cell_calls_total"
    /// How long an edge's call to a cell took, from the edge (against the cell's own request
    /// duration: what the link, the connection pool and the edge's event loops added).
    case edgeCellCallDuration = "concord_edge_cell_call_duration_seconds"
    /// Kept-alive connections an edge has open to cells (idle and in use), and its calls
    /// waiting for one because a cell's are all busy (the pool's limit is 64 per cell).
    case edgeCellConnections = "concord_edge_cell_connections"
    case edgeCellCallsWaiting = "concord_edge_cell_calls_waiting"
    // The gateway, at the edge.
    case gatewaySessions = "concord_gateway_sessions"
    case gatewayIdentifies = "concord_gateway_identifies_total"
    case gatewayResumes = "concord_gateway_resumes_total"
    /// Per cell of a new session's READY: whether its outbox was read back ("read") or the
    /// cell's position showed nothing to read ("skipped").
    case gatewayIdentifyReadBacks = "concord_gateway_identify_read_backs_total"
    /// How long each step of an IDENTIFY took (`step`: verify, session_start, ready_states,
    /// send, subscribe, presence, read_back): where a session's time to READY goes.
    case gatewayIdentifyStepDuration = "concord_gateway_identify_step_seconds"
    case gatewayCloses = "concord_gateway_closes_total"
    case gatewayDeliveries = "concord_gateway_deliveries_total"
    /// Idle sockets' compression contexts freed (a new one carries each stream on when it next sends).
    case gatewayCompressionReleases = "concord_gateway_compression_releases_total"
    // The outbox, at the cell.
    case outboxHead = "concord_outbox_head"
    case outboxPublished = "concord_outbox_published"
    case outboxLag = "concord_outbox_lag_rows"
    // The relay into a cell, per source cell.
    case relaySourceHead = "concord_relay_source_head"
    case relayAppliedThrough = "concord_relay_applied_through"
    case relayLagRows = "concord_relay_lag_rows"
    case relayLagSeconds = "concord_relay_lag_seconds"
    case relayApplied = "concord_relay_applied_total"
    case relayFailures = "concord_relay_failures_total"
    /// How long each call of a relay step took (`step`: `page` at the source, `apply` at the destination).
    case relayStepDuration = "concord_relay_step_duration_seconds"
    // PostgreSQL, at the cell: its pool and its statements.
    case postgresConnectionsInUse = "concord_postgres_connections_in_use"
    case postgresConnectionsMax = "concord_postgres_connections_max"
    case postgresLeaseWait = "concord_postgres_lease_wait_seconds"
    case postgresStatementDuration = "concord_postgres_statement_duration_seconds"
    case postgresStatementErrors = "concord_postgres_statement_errors_total"
    // Redis, wherever a process talks to one (by the cell whose Redis it is).
    case redisRoundTrip = "concord_redis_round_trip_seconds"
    case redisErrors = "concord_redis_errors_total"
    case redisReconnects = "concord_redis_reconnects_total"
    // Tiers and moves, at the cell, read from its database (the tool that does them is not scraped).
    case tierRuns = "concord_tier_runs"
    case tierArchivedRows = "concord_tier_archived_rows"
    case tierLastRun = "concord_tier_last_run_timestamp_seconds"
    case tierColdFiles = "concord_tier_cold_files"
    case tierColdBytes = "concord_tier_cold_bytes"
    case tierAlerts = "concord_tier_alerts"
    case workspaceMoves = "concord_workspace_moves"
    case workspaceMoveLastFreeze = "concord_workspace_move_last_freeze_seconds"
    case workspaceMoveLastDuration = "concord_workspace_move_last_duration_seconds"
}
