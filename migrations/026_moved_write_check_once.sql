-- 014's check runs for every row a client's write adds (a batch of sends: each message's outbox
-- row and each read state it touches), and each time looked the channel up, took the
-- workspace's shared lock and looked for a move: half of a batch insert's time. Once a
-- transaction holds a workspace's shared lock, a freeze cannot start and no move can finish
-- until it ends, so the answer cannot change: the transaction remembers the workspace (and the
-- channel it came from) it last checked and skips the check for them. The memory is
-- transaction-local settings, undone with the lock if a savepoint rolls back.
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
        IF current_setting('concord.checked_channel', true) = NEW.channel_id::text THEN
            RETURN NEW;
        END IF;
        SELECT workspace_id INTO ws FROM channels WHERE id = NEW.channel_id;
        IF ws IS NULL THEN
            RETURN NEW;
        END IF;
    END IF;
    IF ws IS NOT NULL AND current_setting('concord.checked_workspace', true) IS DISTINCT FROM ws::text THEN
        PERFORM pg_advisory_xact_lock_shared(ws);
        IF EXISTS (SELECT 1 FROM moved_workspaces WHERE workspace_id = ws) THEN
            RAISE EXCEPTION 'workspace % has moved to another cell', ws USING ERRCODE = 'CC421';
        END IF;
        PERFORM set_config('concord.checked_workspace', ws::text, true);
    END IF;
    IF ws IS NOT NULL AND NEW.channel_id IS NOT NULL AND TG_TABLE_NAME NOT IN ('outbox', 'invites') THEN
        PERFORM set_config('concord.checked_channel', NEW.channel_id::text, true);
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
