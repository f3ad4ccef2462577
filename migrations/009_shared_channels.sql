-- Cross-cell channels. A channel is stored and ordered by its home cell; a cell holding one of
-- the workspaces it is shared into keeps a replica: a channels row with home_cell set, and the
-- channel's messages, written only by the relay from the home cell's outbox. The relay's
-- position in each source cell's outbox is kept here, committed with the rows it applied.
ALTER TABLE channels ADD COLUMN IF NOT EXISTS home_cell integer;

-- On the home cell: which workspaces of which cells a channel is shared into.
CREATE TABLE IF NOT EXISTS channel_shares (
    channel_id   bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    workspace_id bigint NOT NULL,
    cell_id      integer NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, workspace_id)
);

CREATE TABLE IF NOT EXISTS relay_cursors (
    source_cell integer PRIMARY KEY,
    seq         bigint NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
