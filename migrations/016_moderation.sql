-- Moderation: timeouts (a member may only look until then) and bans (a banned user cannot
-- come back through an invite until unbanned).
ALTER TABLE members ADD COLUMN IF NOT EXISTS communication_disabled_until timestamptz;

CREATE TABLE IF NOT EXISTS bans (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      bigint NOT NULL,
    reason       text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, user_id)
);
