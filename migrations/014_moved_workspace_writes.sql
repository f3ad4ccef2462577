-- Writes that queue no outbox event (new invites and their use counts, read-state acks, share
-- invites) are held back by a move's freeze and refused after it, as every outbox event is
-- (010): each takes its workspace's advisory lock in shared mode and is refused with CC421 once
-- the workspace has moved away, so the edge retries it at the new home instead of the write
-- landing in a copy that is about to be deleted.
--
-- The mover's own copies and the sequencer's bookkeeping (numbering rows committed before the
-- freeze) set `concord.system_write` in their transaction and pass.

-- One rule for the outbox (replacing 010's function) and for these tables.
CREATE OR REPLACE FUNCTION refuse_moved_write() RETURNS trigger AS $$
DECLARE
    ws bigint;
BEGIN
    IF current_setting('concord.system_write', true) = 'on' THEN
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME IN ('outbox', 'invites') THEN
        ws := NEW.workspace_id;
    END IF;
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
CREATE TRIGGER outbox_refuse_moved BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_moved_write();
DROP FUNCTION IF EXISTS outbox_refuse_moved();
DROP TRIGGER IF EXISTS invites_refuse_moved ON invites;
CREATE TRIGGER invites_refuse_moved BEFORE INSERT OR UPDATE ON invites
    FOR EACH ROW EXECUTE FUNCTION refuse_moved_write();
DROP TRIGGER IF EXISTS read_states_refuse_moved ON read_states;
CREATE TRIGGER read_states_refuse_moved BEFORE INSERT OR UPDATE ON read_states
    FOR EACH ROW EXECUTE FUNCTION refuse_moved_write();
DROP TRIGGER IF EXISTS share_invites_refuse_moved ON share_invites;
CREATE TRIGGER share_invites_refuse_moved BEFORE INSERT OR UPDATE ON share_invites
    FOR EACH ROW EXECUTE FUNCTION refuse_moved_write();
