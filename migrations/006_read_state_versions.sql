-- Every change of a read state takes a new version from one sequence. The copy of read states
-- the cell keeps in Redis (its unread counters) applies changes in whatever order they arrive
-- and keeps the newest version of each row, so a rebuild from PostgreSQL racing live changes
-- never goes back in time.
CREATE SEQUENCE IF NOT EXISTS read_state_versions;
ALTER TABLE read_states ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT nextval('read_state_versions');
