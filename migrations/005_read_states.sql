-- Read states and unread counts. Each channel numbers its messages (message_seq, assigned after
-- commit by the outbox sequencer, so posting never locks the channel row); a user's unread count
-- in a channel is message_seq - last_seq, with no per-recipient write when a message is posted.
-- Mention counts are the only per-recipient writes, and only for the users actually mentioned;
-- @everyone/@here are kept once per channel (mass_mentions) and counted against last_message_id.
ALTER TABLE channels ADD COLUMN IF NOT EXISTS message_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN IF NOT EXISTS channel_seq bigint;

CREATE TABLE IF NOT EXISTS read_states (
    user_id         bigint NOT NULL,
    channel_id      bigint NOT NULL,
    last_message_id bigint NOT NULL DEFAULT 0,
    last_seq        bigint NOT NULL DEFAULT 0,
    mention_count   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, channel_id)
);

CREATE TABLE IF NOT EXISTS mass_mentions (
    channel_id bigint NOT NULL,
    message_id bigint NOT NULL,
    PRIMARY KEY (channel_id, message_id)
);
