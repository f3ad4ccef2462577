-- Versions of what a channel's access is computed from, so a cell may keep an access it read
-- and still write only with a current one: a send with a kept access names the versions it
-- was read at, and its insert is refused (CC409) when either moved since; the cell then reads
-- the access afresh. Without this, every send read the channel, workspace, roles and member
-- again (one round trip per send).
--
-- A workspace's version moves with its owner, its roles, its members and their roles, and its
-- channels' settings (not their message counters, which the outbox sequencer updates all the
-- time); a user's with any change to their row (name, avatar, deactivation, …). Versions come
-- from one sequence, so a row deleted and made again (a workspace moving away and back) never
-- repeats a version an access was kept at. They are the cell's own: moves do not copy them.
CREATE SEQUENCE IF NOT EXISTS access_versions;
ALTER TABLE workspaces ADD COLUMN IF NOT EXISTS access_version bigint NOT NULL DEFAULT nextval('access_versions');
ALTER TABLE users ADD COLUMN IF NOT EXISTS access_version bigint NOT NULL DEFAULT nextval('access_versions');

CREATE OR REPLACE FUNCTION bump_workspace_access() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.workspace_id IS NOT NULL THEN
        UPDATE workspaces SET access_version = nextval('access_versions') WHERE id = OLD.workspace_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.workspace_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.workspace_id IS DISTINCT FROM OLD.workspace_id) THEN
        UPDATE workspaces SET access_version = nextval('access_versions') WHERE id = NEW.workspace_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS members_bump_access ON members;
CREATE TRIGGER members_bump_access AFTER INSERT OR UPDATE OR DELETE ON members
    FOR EACH ROW EXECUTE FUNCTION bump_workspace_access();
DROP TRIGGER IF EXISTS member_roles_bump_access ON member_roles;
CREATE TRIGGER member_roles_bump_access AFTER INSERT OR UPDATE OR DELETE ON member_roles
    FOR EACH ROW EXECUTE FUNCTION bump_workspace_access();
DROP TRIGGER IF EXISTS roles_bump_access ON roles;
CREATE TRIGGER roles_bump_access AFTER INSERT OR UPDATE OR DELETE ON roles
    FOR EACH ROW EXECUTE FUNCTION bump_workspace_access();
DROP TRIGGER IF EXISTS channels_bump_access ON channels;
CREATE TRIGGER channels_bump_access
    AFTER UPDATE OF workspace_id, type, name, topic, position, parent_id, nsfw, permission_overwrites, home_cell OR DELETE ON channels
    FOR EACH ROW EXECUTE FUNCTION bump_workspace_access();

CREATE OR REPLACE FUNCTION bump_own_access() RETURNS trigger AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.access_version := nextval('access_versions');
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS workspaces_bump_access ON workspaces;
CREATE TRIGGER workspaces_bump_access BEFORE UPDATE OF owner_id ON workspaces
    FOR EACH ROW EXECUTE FUNCTION bump_own_access();
DROP TRIGGER IF EXISTS users_bump_access ON users;
CREATE TRIGGER users_bump_access BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION bump_own_access();

-- True when the workspace and the user are still at the versions an access was read at;
-- otherwise the statement fails with CC409 (a workspace or user gone counts as changed).
CREATE OR REPLACE FUNCTION access_unchanged(workspace bigint, workspace_version bigint, member bigint, member_version bigint)
RETURNS boolean AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM workspaces WHERE id = workspace AND access_version = workspace_version)
       OR NOT EXISTS (SELECT 1 FROM users WHERE id = member AND access_version = member_version) THEN
        RAISE EXCEPTION 'access to workspace % changed since it was read', workspace USING ERRCODE = 'CC409';
    END IF;
    RETURN true;
END
$$ LANGUAGE plpgsql STABLE;
