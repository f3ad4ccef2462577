-- pgbench script for `make bench`: the raw database cost of one message send, the same rows the
-- cell writes (a message row and its outbox row) in one transaction. Variables come from
-- scripts/bench.sh: chan, guild, author, base (the first id of the current bucket), bucket.
\set id :base + random(1, 4000000000000)
BEGIN;
INSERT INTO messages (channel_id, bucket, id, workspace_id, author_id, content, nonce)
VALUES (:chan, :bucket, :id, :guild, :author, 'bench message', '"n"');
INSERT INTO outbox (event_type, workspace_id, channel_id, payload)
VALUES ('MESSAGE_CREATE', :guild, :chan, '{"id":"0","content":"bench message","channel_id":"0","author":{"id":"0","username":"bench"}}');
END;
