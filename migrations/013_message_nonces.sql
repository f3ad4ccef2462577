-- `enforce_nonce`: a message sent again with the same nonce by the same author in the same
-- channel within a few minutes answers the first message instead of creating a second one.
-- A row older than that window is taken over by the next message with its nonce; maintenance
-- deletes old rows.
CREATE TABLE IF NOT EXISTS message_nonces (
    channel_id bigint NOT NULL,
    author_id  bigint NOT NULL,
    nonce      text NOT NULL,
    message_id bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, author_id, nonce)
);
CREATE INDEX IF NOT EXISTS message_nonces_created_at ON message_nonces (created_at);
