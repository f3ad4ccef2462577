-- Workspace moves. A workspace lives where its id's cell bits say unless the directory says
-- otherwise: once moved, the workspace, each channel it had and each invite code have an entry
-- naming the new home. Every cell keeps the whole directory (moved workspaces only, so it is
-- small): an edge loads it from any cell, and a cell answers 421 for what it no longer holds.
CREATE TABLE IF NOT EXISTS directory (
    -- A workspace or channel id, or 'invite:' followed by an invite code.
    key          text PRIMARY KEY,
    workspace_id bigint NOT NULL,
    cell_id      integer NOT NULL,
    -- The move's time in milliseconds: of two entries for one key, the newer wins.
    version      bigint NOT NULL,
    -- The new home's outbox head when it took over: its events for the workspace follow it.
    since_seq    bigint NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS directory_version ON directory (version);

-- In the cell a workspace left: it takes no more writes for it.
CREATE TABLE IF NOT EXISTS moved_workspaces (
    workspace_id bigint PRIMARY KEY,
    to_cell      integer NOT NULL,
    moved_at     timestamptz NOT NULL DEFAULT now(),
    -- When the old copy was deleted (after the new home was verified).
    removed_at   timestamptz
);

-- Every write to a workspace's data queues an outbox event in the same transaction, so the
-- outbox is where a move freezes writes: each event takes the workspace's advisory lock in
-- shared mode, the mover takes it exclusively (waiting for writes in flight, holding back new
-- ones for the freeze), and a write that gets through after the move is refused (SQLSTATE
-- CC421, answered as 421 so the edge retries at the new home).
CREATE OR REPLACE FUNCTION outbox_refuse_moved() RETURNS trigger AS $$
DECLARE
    ws bigint := NEW.workspace_id;
BEGIN
    IF ws IS NULL AND NEW.channel_id IS NOT NULL THEN
        SELECT workspace_id INTO ws FROM channels WHERE id = NEW.channel_id;
    END IF;
    IF ws IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock_shared(ws);
        IF EXISTS (SELECT 1 FROM moved_workspaces WHERE workspace_id = ws) THEN
            RAISE EXCEPTION 'workspace % has moved to another cell', ws USING ERRCODE = 'CC421';
        END IF;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS outbox_refuse_moved ON outbox;
CREATE TRIGGER outbox_refuse_moved BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_refuse_moved();
