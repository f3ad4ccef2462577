-- People and bots, and the tokens they authenticate with.
CREATE TABLE IF NOT EXISTS users (
    id            bigint PRIMARY KEY,
    username      text NOT NULL,
    global_name   text,
    avatar        text,
    bot           boolean NOT NULL DEFAULT false,
    -- The person who created a bot (its application's owner).
    owner_id      bigint REFERENCES users (id),
    -- scrypt$N$r$p$salt$hash; NULL for bots, which only have tokens.
    password_hash text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS users_username_key ON users (lower(username));

-- Tokens are verified by their HMAC at the edge; this table records them (by SHA-256
-- fingerprint only) so they can be listed and revoked.
CREATE TABLE IF NOT EXISTS tokens (
    id          bigint PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        smallint NOT NULL,
    fingerprint text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX IF NOT EXISTS tokens_user_id ON tokens (user_id);
CREATE INDEX IF NOT EXISTS tokens_revoked ON tokens (id) WHERE revoked_at IS NOT NULL;
