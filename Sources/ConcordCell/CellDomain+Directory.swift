import ConcordModels
import ConcordStorage

extension CellDomain {
    /// Takes in directory entries written since the last look (a move). A workspace that has
    /// just arrived here may have lived here before: the Redis copies (hot pages, unread
    /// counters) move to a new generation, so they are rebuilt from what the move copied.
    public func refreshDirectory() async throws {
        let known = directory.version
        guard try await db.directoryVersion() > known else { return }
        let arrived = directory.merge(try await db.directoryEntries(after: known)).filter { $0.entry.cell_id == cellID }
        if !arrived.isEmpty {
            logger.info("workspaces moved here", metadata: ["workspaces": "\(arrived.map(\.entry.workspace_id))"])
            await counters.renew()
            await hot.renew()
        }
    }
}
