-- Roles, as Discord's: @everyone has the workspace's own id and every member holds it; members
-- hold any of the others. Permissions are Discord's 64-bit field. A higher position is more
-- senior.
CREATE TABLE IF NOT EXISTS roles (
    id           bigint PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL,
    permissions  bigint NOT NULL,
    position     integer NOT NULL DEFAULT 0,
    color        integer NOT NULL DEFAULT 0,
    hoist        boolean NOT NULL DEFAULT false,
    mentionable  boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS roles_workspace_id ON roles (workspace_id, position);

CREATE TABLE IF NOT EXISTS member_roles (
    workspace_id bigint NOT NULL,
    user_id      bigint NOT NULL,
    role_id      bigint NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (workspace_id, user_id, role_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES members (workspace_id, user_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS member_roles_role_id ON member_roles (role_id);

-- Workspaces made before roles get their @everyone with the permissions it always had
-- (Permissions.everyoneDefault).
INSERT INTO roles (id, workspace_id, name, permissions, position)
SELECT id, id, '@everyone', 67357761, 0 FROM workspaces
ON CONFLICT (id) DO NOTHING;
