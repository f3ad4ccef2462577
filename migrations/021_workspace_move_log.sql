-- Each workspace move leaves its phases in the source cell, so the cell's metrics say how many
-- moves are in which phase and how long the last freeze held writes (the move itself runs in
-- the operator's tool, which no one scrapes).
CREATE TABLE IF NOT EXISTS workspace_move_log (
    id            bigserial PRIMARY KEY,
    workspace_id  bigint NOT NULL,
    destination   int NOT NULL,
    phase         text NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    freeze_ms     double precision,
    total_ms      double precision
);
CREATE INDEX IF NOT EXISTS workspace_move_log_by_phase ON workspace_move_log (phase);
