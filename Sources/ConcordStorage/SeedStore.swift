import ConcordModels
import Foundation
import PostgresNIO

extension Database {
    /// Bulk-inserts plain messages (no outbox rows: this is test and benchmark data, not a
    /// state change anyone is subscribed to), 5,000 per statement.
    public func seedMessages(channelID: Snowflake, workspaceID: Snowflake, authorID: Snowflake,
                             ids: [Snowflake], content: (Int) -> String) async throws {
        for bucket in Set(ids.map(\.bucket)) { try await ensureMessagePartition(bucket: bucket) }
        for start in stride(from: 0, to: ids.count, by: 5000) {
            let chunk = ids[start..<min(start + 5000, ids.count)]
            try await run("""
                INSERT INTO messages (channel_id, bucket, id, workspace_id, author_id, content)
                SELECT \(channelID.int64), b, i, \(workspaceID.int64), \(authorID.int64), c
                FROM unnest(\(chunk.map(\.bucket)), \(chunk.map(\.int64)), \(chunk.indices.map { content($0) })) AS t(b, i, c)
                """)
        }
        // Fresh partitions have no statistics until autovacuum visits; give the planner some now.
        try await run("ANALYZE messages")
    }
}
