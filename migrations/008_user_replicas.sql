-- Users from other cells. A cell keeps a copy of the profile (name, avatar, bot flag) of each
-- user homed elsewhere who is a member of one of its workspaces, so its joins (authors,
-- members) stay local. home_cell is NULL for the cell's own users; copies have no password and
-- no tokens, and usernames are unique among a cell's own users only.
ALTER TABLE users ADD COLUMN IF NOT EXISTS home_cell integer;
DROP INDEX IF EXISTS users_username_key;
CREATE UNIQUE INDEX IF NOT EXISTS users_local_username_key ON users (lower(username)) WHERE home_cell IS NULL;
