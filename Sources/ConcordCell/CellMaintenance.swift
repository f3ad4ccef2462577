import ConcordModels
import ConcordStorage
import Foundation
import Logging
import ServiceLifecycle

/// The cell's periodic chores: keep Redis's revoked-token set complete (it may have been
/// restarted or flushed), create message partitions ahead of time, prune the outbox, end
/// presences nobody refreshed, and remove attachment blobs nothing names any more.
public struct CellMaintenance: Service {
    let domain: CellDomain
    let retentionHours: Double
    let interval: Duration
    let logger: Logger

    public init(domain: CellDomain, retentionHours: Double = 72, interval: Duration = .seconds(30),
                logger: Logger = Logger(label: "concord.maintenance")) {
        self.domain = domain
        self.retentionHours = retentionHours
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let clock = ChoreClock()
        await clock.run {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await clock.repeatEvery(interval) { await runOnce() } }
                // A move's directory change reaches this cell within a second (the mover waits
                // longer before removing the old copy); its database refuses the moved
                // workspace's writes from the switch on anyway.
                group.addTask {
                    await clock.repeatEvery(.seconds(1)) {
                        do { try await domain.refreshDirectory() } catch {
                            logger.warning("directory refresh failed", metadata: ["error": "\(error)"])
                        }
                    }
                }
                // A flushed or restarted Redis loses the revoked set; edges refuse tokens until it
                // is complete again, so its marker is looked at every second.
                group.addTask {
                    await clock.repeatEvery(.seconds(1)) {
                        do {
                            if try await !domain.revokedTokensLoaded() { _ = try await domain.syncRevokedTokens() }
                        } catch {
                            logger.warning("could not check the revoked-token set", metadata: ["error": "\(error)"])
                        }
                    }
                }
                group.addTask {
                    await clock.repeatEvery(.seconds(600)) {
                        do {
                            let removed = try await domain.sweepBlobs()
                            if removed > 0 { logger.info("removed unreferenced blobs", metadata: ["blobs": "\(removed)"]) }
                        } catch {
                            logger.warning("blob sweep failed", metadata: ["error": "\(error)"])
                        }
                    }
                }
                // Presence expiry is checked every second: a user whose sessions all stopped
                // heartbeating (or whose edge died) goes offline within its TTL plus a second.
                group.addTask {
                    await clock.repeatEvery(.seconds(1)) {
                        do { _ = try await domain.sweepPresences() } catch {
                            logger.warning("presence sweep failed", metadata: ["error": "\(error)"])
                        }
                    }
                }
            }
        }
    }

    func runOnce() async {
        do {
            _ = try await domain.syncRevokedTokens()
        } catch {
            logger.warning("could not sync revoked tokens to Redis", metadata: ["error": "\(error)"])
        }
        do {
            let now = Snowflake.lowerBound(at: UInt64(Date().timeIntervalSince1970 * 1000))
            try await domain.db.ensureMessagePartition(bucket: now.bucket)
            try await domain.db.ensureMessagePartition(bucket: now.bucket + 1)
            let pruned = try await domain.db.pruneOutbox(retentionHours: retentionHours)
            if pruned > 0 { logger.info("pruned outbox", metadata: ["rows": "\(pruned)"]) }
            try await domain.db.pruneNonces()
        } catch {
            logger.warning("maintenance failed", metadata: ["error": "\(error)"])
        }
    }
}
