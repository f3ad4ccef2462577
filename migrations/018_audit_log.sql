-- A workspace's audit log, as Discord's: who did what to which target, with the changes, the
-- options of the action and the reason given in X-Audit-Log-Reason. Written in the same
-- transaction as the action and its outbox event (GUILD_AUDIT_LOG_ENTRY_CREATE).
CREATE TABLE IF NOT EXISTS audit_log (
    id           bigint PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      bigint,
    target_id    bigint,
    action_type  integer NOT NULL,
    changes      jsonb,
    options      jsonb,
    reason       text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_log_workspace ON audit_log (workspace_id, id DESC);
