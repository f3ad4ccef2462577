-- Message tiering. Old buckets leave PostgreSQL for immutable archive files; this catalog says
-- which file holds which channel's rows of which bucket. A file is 'copied' while its rows are
-- still in PostgreSQL too (reads use PostgreSQL) and 'cold' once they were removed (reads use
-- the file), so a message is read from exactly one place at every step of a move.
CREATE TABLE IF NOT EXISTS archive_files (
    id            bigserial PRIMARY KEY,
    bucket        integer NOT NULL,
    name          text NOT NULL UNIQUE,
    sha256        text NOT NULL,        -- of the stored (compressed) bytes
    rows_sha256   text NOT NULL,        -- of the rows, recomputed from the file to verify it
    row_count     bigint NOT NULL,
    bytes         bigint NOT NULL,
    warm_bytes    bigint NOT NULL,      -- what the same rows took in PostgreSQL (table, TOAST and indexes)
    state         text NOT NULL CHECK (state IN ('copied', 'cold')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    verified_at   timestamptz
);

CREATE TABLE IF NOT EXISTS archived_channels (
    channel_id bigint NOT NULL,
    bucket     integer NOT NULL,
    file_id    bigint NOT NULL REFERENCES archive_files (id) ON DELETE CASCADE,
    row_count  bigint NOT NULL,
    PRIMARY KEY (channel_id, bucket)
);
CREATE INDEX IF NOT EXISTS archived_channels_by_file ON archived_channels (file_id);

-- Edits and deletions of archived messages: the message's new row (NULL: deleted), consulted on
-- every read of the file and folded in when the file is rewritten.
CREATE TABLE IF NOT EXISTS archive_overrides (
    channel_id bigint NOT NULL,
    bucket     integer NOT NULL,
    id         bigint NOT NULL,
    row        jsonb,
    PRIMARY KEY (channel_id, bucket, id)
);

-- How long a workspace's messages stay warm, when not the cell's default.
CREATE TABLE IF NOT EXISTS tier_policies (
    workspace_id    bigint PRIMARY KEY,
    cold_after_days integer NOT NULL CHECK (cold_after_days >= 1)
);

CREATE TABLE IF NOT EXISTS tier_runs (
    id          bigserial PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    files       integer NOT NULL DEFAULT 0,
    row_count   bigint NOT NULL DEFAULT 0,
    dry_run     boolean NOT NULL DEFAULT false
);

-- Archives found missing or corrupt (by a read or by `tier verify`), until verified sound again.
CREATE TABLE IF NOT EXISTS tier_alerts (
    file_id   bigint PRIMARY KEY REFERENCES archive_files (id) ON DELETE CASCADE,
    problem   text NOT NULL,
    seen_at   timestamptz NOT NULL DEFAULT now()
);
