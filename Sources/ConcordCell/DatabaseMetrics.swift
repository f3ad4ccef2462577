import ConcordObservability
import ConcordStorage
import CoreMetrics

/// The cell's PostgreSQL pool and statements in its metrics (instruments made once: this is on
/// every statement's path).
struct DatabaseMetrics: DatabaseObserver {
    let leaseWait: CoreMetrics.Timer
    let inUse: Gauge
    let maximum: Gauge
    let statements: CoreMetrics.Timer
    let errors: Counter

    init(_ metrics: NodeMetrics) {
        leaseWait = metrics.timer(.postgresLeaseWait)
        inUse = metrics.gauge(.postgresConnectionsInUse)
        maximum = metrics.gauge(.postgresConnectionsMax)
        statements = metrics.timer(.postgresStatementDuration)
        errors = metrics.counter(.postgresStatementErrors)
    }

    func leased(waited: Duration, inUse count: Int, of maximum: Int) {
        leaseWait.recordNanoseconds(waited.nanoseconds)
        inUse.record(count)
        self.maximum.record(maximum)
    }

    func returned(inUse count: Int) { inUse.record(count) }

    func statement(took: Duration, failed: Bool) {
        statements.recordNanoseconds(took.nanoseconds)
        if failed { errors.increment() }
    }
}
