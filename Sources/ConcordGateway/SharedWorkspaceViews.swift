import ConcordModels
import ConcordPermissions
import Synchronization

/// Sessions in one workspace hold equal copies of its roles and channel overwrites (and, for
/// members alike, of the channels they can see): an edge keeps one copy per workspace and a
/// session loading a workspace shares it when equal, so an idle session's visibility costs its
/// own member grant and little else. Copy-on-write keeps sharing safe: a session whose view
/// changes (a role update) gets its own copy at that moment.
public final class SharedWorkspaceViews: Sendable {
    struct Parts: Sendable {
        var roles: [Snowflake: RoleGrant]
        var overwrites: [Snowflake: [PermissionOverwrite]]
        var visible: Set<Snowflake>
    }

    private let latest = Mutex<[Snowflake: Parts]>([:])
    /// Workspaces remembered at most; past it the memory starts over (sharing is only a saving).
    let capacity: Int

    public init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// The view with its parts replaced by the remembered ones they equal; parts that differ
    /// become the ones remembered.
    func share(_ workspace: ChannelVisibility.Workspace, of guild: Snowflake) -> ChannelVisibility.Workspace {
        latest.withLock { latest in
            var shared = workspace
            var parts = latest[guild] ?? Parts(roles: workspace.roles.roles, overwrites: workspace.overwrites, visible: workspace.visible)
            if parts.roles == workspace.roles.roles { shared.roles.roles = parts.roles } else { parts.roles = workspace.roles.roles }
            if parts.overwrites == workspace.overwrites { shared.overwrites = parts.overwrites } else { parts.overwrites = workspace.overwrites }
            if parts.visible == workspace.visible { shared.visible = parts.visible } else { parts.visible = workspace.visible }
            if latest[guild] == nil, latest.count >= capacity { latest.removeAll() }
            latest[guild] = parts
            return shared
        }
    }
}
