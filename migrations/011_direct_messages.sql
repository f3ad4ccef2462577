-- Direct messages: a channel between two users, outside any workspace. It is homed in the cell
-- of the user with the lower id, so both sides find the same one; the other user's cell holds a
-- replica (home_cell set), written by the relay like a shared channel's.
ALTER TABLE channels ALTER COLUMN workspace_id DROP NOT NULL;

CREATE TABLE IF NOT EXISTS dm_channels (
    channel_id bigint PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    user_low   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_high  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    CHECK (user_low < user_high),
    UNIQUE (user_low, user_high)
);
CREATE INDEX IF NOT EXISTS dm_channels_user_high ON dm_channels (user_high);
