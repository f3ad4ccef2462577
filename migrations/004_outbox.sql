-- The outbox: every state change inserts its event here in the same transaction.
-- `seq` is assigned after commit by the cell's single sequencer, in the order rows become
-- visible, so consumers see a dense, gap-free, commit-ordered sequence per cell.
CREATE TABLE IF NOT EXISTS outbox (
    id           bigserial PRIMARY KEY,
    seq          bigint UNIQUE,
    event_type   text NOT NULL,
    workspace_id bigint,
    channel_id   bigint,
    -- Set for events addressed to one user rather than a workspace.
    user_id      bigint,
    payload      json NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sequenced_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unsequenced ON outbox (id) WHERE seq IS NULL;

-- The last sequence number handed out; never decreases, even when old rows are pruned.
CREATE TABLE IF NOT EXISTS outbox_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seq       bigint NOT NULL
);
INSERT INTO outbox_head (singleton, seq) VALUES (true, 0) ON CONFLICT DO NOTHING;

-- How far each consumer (the Redis publisher, later relays) has processed the outbox.
CREATE TABLE IF NOT EXISTS outbox_cursors (
    consumer   text PRIMARY KEY,
    seq        bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
