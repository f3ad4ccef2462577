-- Messages, keyed and partitioned by the 10-day bucket of their snowflake, so an old bucket
-- can be detached and archived as a unit. Partitions (messages_b<bucket>) are created by the
-- storage layer when a bucket is first written.
CREATE TABLE IF NOT EXISTS messages (
    channel_id           bigint NOT NULL,
    bucket               integer NOT NULL,
    id                   bigint NOT NULL,
    workspace_id         bigint,
    author_id            bigint NOT NULL,
    type                 smallint NOT NULL DEFAULT 0,
    content              text NOT NULL DEFAULT '',
    tts                  boolean NOT NULL DEFAULT false,
    mention_everyone     boolean NOT NULL DEFAULT false,
    mention_ids          bigint[] NOT NULL DEFAULT '{}',
    embeds               jsonb NOT NULL DEFAULT '[]',
    components           jsonb NOT NULL DEFAULT '[]',
    -- The client's nonce as JSON text (a string or an integer), echoed back as given.
    nonce                text,
    flags                integer NOT NULL DEFAULT 0,
    pinned               boolean NOT NULL DEFAULT false,
    reference_message_id bigint,
    reference_channel_id bigint,
    reference_guild_id   bigint,
    edited_at            timestamptz,
    PRIMARY KEY (channel_id, bucket, id)
) PARTITION BY RANGE (bucket);
