-- Sharing a channel with another organisation's workspace, as Slack Connect does: the owner of
-- the channel's workspace makes a share invite; the owner of the other workspace accepts it into
-- their workspace. Kept in the channel's home cell; a code is accepted once (by one workspace).
CREATE TABLE IF NOT EXISTS share_invites (
    code        text PRIMARY KEY,
    channel_id  bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    inviter_id  bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_by bigint,
    accepted_at timestamptz
);
CREATE INDEX IF NOT EXISTS share_invites_channel_id ON share_invites (channel_id);
