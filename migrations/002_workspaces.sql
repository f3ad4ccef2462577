-- Workspaces (Discord's guilds), their channels, members and invites.
CREATE TABLE IF NOT EXISTS workspaces (
    id                bigint PRIMARY KEY,
    name              text NOT NULL,
    description       text,
    icon              text,
    owner_id          bigint NOT NULL,
    system_channel_id bigint,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS workspaces_owner_id ON workspaces (owner_id);

CREATE TABLE IF NOT EXISTS channels (
    id              bigint PRIMARY KEY,
    workspace_id    bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    type            smallint NOT NULL,
    name            text NOT NULL,
    topic           text,
    position        integer NOT NULL DEFAULT 0,
    parent_id       bigint,
    nsfw            boolean NOT NULL DEFAULT false,
    -- Maintained after commit by the outbox sequencer, so posting never locks the channel row.
    last_message_id bigint,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS channels_workspace_id ON channels (workspace_id, position, id);

CREATE TABLE IF NOT EXISTS members (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    nick         text,
    joined_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX IF NOT EXISTS members_user_id ON members (user_id);

CREATE TABLE IF NOT EXISTS invites (
    code         text PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    channel_id   bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    inviter_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    max_age      integer NOT NULL,
    max_uses     integer NOT NULL,
    uses         integer NOT NULL DEFAULT 0,
    temporary    boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz
);
CREATE INDEX IF NOT EXISTS invites_workspace_id ON invites (workspace_id);
