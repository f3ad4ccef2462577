import ConcordRedis
import CoreMetrics

/// A Redis client's round trips and reconnects in a node's metrics, labelled by the cell whose
/// Redis it is (an edge talks to every cell's). Instruments are made once: this is on every
/// command's path.
public struct RedisMetrics: RedisObserver {
    let roundTrips: CoreMetrics.Timer
    let errors: Counter
    let reconnects: Counter

    public init(_ metrics: NodeMetrics, cell: String) {
        roundTrips = metrics.timer(.redisRoundTrip, [("cell", cell)])
        errors = metrics.counter(.redisErrors, [("cell", cell)])
        reconnects = metrics.counter(.redisReconnects, [("cell", cell)])
    }

    public func roundTrip(took: Duration, failed: Bool) {
        roundTrips.recordNanoseconds(took.nanoseconds)
        if failed { errors.increment() }
    }

    public func connected(again: Bool) {
        if again { reconnects.increment() }
    }
}
