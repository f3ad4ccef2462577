-- Reactions and pins live beside messages, not in their rows: adding or removing one writes
-- one row (never the message again), and they stay here when the tier mover archives the
-- message itself, so a cold message's reactions and pin change like a warm one's. They go
-- with their channel; the message's own deletion removes them in its transaction.
CREATE TABLE IF NOT EXISTS message_reactions (
    channel_id bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    message_id bigint NOT NULL,
    emoji      text NOT NULL,
    user_id    bigint NOT NULL,
    -- Orders a message's emoji by their first reaction, as Discord shows them.
    reacted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (channel_id, message_id, emoji, user_id)
);

CREATE TABLE IF NOT EXISTS message_pins (
    channel_id bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    message_id bigint NOT NULL,
    pinned_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    pinned_by  bigint NOT NULL,
    PRIMARY KEY (channel_id, message_id)
);
CREATE INDEX IF NOT EXISTS message_pins_by_time ON message_pins (channel_id, pinned_at DESC);
