-- One sequencing pass in one call. The pass was six round trips (a look for unnumbered rows,
-- BEGIN, the lock, the numbering, the channels' counters, COMMIT), and at moderate rates, where
-- each pass numbers a message or two, what a round trip costs beyond its statement was most of
-- PostgreSQL's time per message. The statements and their order are the pass's as it was: each
-- statement of a function takes its own snapshot, so the head is read after the lock is held
-- and sees the last holder's commit.
--
-- Answers, in order: one 'h' row (the head before the pass: `head`), then one 'e' row per
-- numbered event (in sequence order), then one 'c' row per channel whose messages it numbered
-- (`channel_id`, its new message sequence in `last_seq`) and one 'r' row per sender's read
-- state it moved. A pass that finds nothing to number, or finds another sequencer holding the
-- lock, answers the 'h' row alone.
CREATE OR REPLACE FUNCTION sequence_outbox(batch_size integer, bucket_milliseconds bigint)
RETURNS TABLE (kind text, head bigint, seq bigint, event_type text, workspace_id bigint, channel_id bigint,
               user_id bigint, payload text, request_id text, last_message_id bigint, last_seq bigint,
               mention_count integer, version bigint) AS $$
#variable_conflict use_column
DECLARE
    old_head bigint;
    numbered_count bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM outbox o WHERE o.seq IS NULL)
       OR NOT pg_try_advisory_xact_lock(7362002) THEN
        RETURN QUERY SELECT 'h'::text, h.seq, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text,
                            NULL::text, NULL::bigint, NULL::bigint, NULL::integer, NULL::bigint
                     FROM outbox_head h;
        RETURN;
    END IF;
    -- Numbering rows committed before a move's freeze is bookkeeping, not a client's write:
    -- it passes the moved-workspace triggers (and does not wait for a freeze).
    PERFORM set_config('concord.system_write', 'on', true);
    SELECT h.seq INTO old_head FROM outbox_head h;
    RETURN QUERY SELECT 'h'::text, old_head, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text,
                        NULL::text, NULL::bigint, NULL::bigint, NULL::integer, NULL::bigint;

    RETURN QUERY
    WITH batch AS (
        SELECT o.id, row_number() OVER (ORDER BY o.id) AS ord FROM outbox o WHERE o.seq IS NULL ORDER BY o.id LIMIT batch_size
    ), numbered AS (
        UPDATE outbox o SET seq = old_head + batch.ord, sequenced_at = now() FROM batch WHERE o.id = batch.id
        RETURNING o.seq, o.event_type, o.workspace_id, o.channel_id, o.user_id, o.payload::text AS payload, o.request_id
    )
    SELECT 'e'::text, NULL::bigint, n.seq, n.event_type, n.workspace_id, n.channel_id, n.user_id, n.payload, n.request_id,
           NULL::bigint, NULL::bigint, NULL::integer, NULL::bigint
    FROM numbered n ORDER BY n.seq;
    GET DIAGNOSTICS numbered_count = ROW_COUNT;
    IF numbered_count = 0 THEN
        RETURN;
    END IF;
    UPDATE outbox_head SET seq = old_head + numbered_count;

    -- Each channel numbers its new messages in commit order: unread counts are differences of
    -- these numbers. (A DM's message has one event per user: it is counted once.) Each message is
    -- found by its whole key (channel, bucket, id), worked out before the update: joined to the
    -- messages by channel first, a plan made once for every pass read the channel's whole history.
    RETURN QUERY
    WITH created AS (
        SELECT e.channel_id, e.message_id, row_number() OVER (PARTITION BY e.channel_id ORDER BY e.first_seq) AS n
        FROM (SELECT o.channel_id, (o.payload->>'id')::bigint AS message_id, min(o.seq) AS first_seq
              FROM outbox o WHERE o.seq > old_head AND o.seq <= old_head + numbered_count AND o.event_type = 'MESSAGE_CREATE'
              GROUP BY 1, 2) e
    ), bumped AS (
        UPDATE channels c SET message_seq = c.message_seq + t.added, last_message_id = GREATEST(c.last_message_id, t.last_id)
        FROM (SELECT created.channel_id, count(*) AS added, max(created.message_id) AS last_id FROM created GROUP BY created.channel_id) t
        WHERE c.id = t.channel_id
        RETURNING c.id, c.message_seq, c.message_seq - t.added AS base, c.home_cell IS NULL AS homed_here
    ), targets AS MATERIALIZED (
        SELECT created.channel_id, ((created.message_id >> 22) / bucket_milliseconds)::int AS bucket,
               created.message_id, bumped.base + created.n AS channel_seq
        FROM created JOIN bumped ON bumped.id = created.channel_id
    ), numbered AS (
        UPDATE messages m SET channel_seq = t.channel_seq
        FROM targets t
        WHERE m.channel_id = t.channel_id AND m.bucket = t.bucket AND m.id = t.message_id
        RETURNING m.channel_id, m.id, m.author_id, m.channel_seq
    ), senders AS (
        -- Each sender's newest message of the pass per channel homed here (a replica's messages
        -- move their authors' read states at the channel's home).
        SELECT numbered.author_id AS user_id, numbered.channel_id, max(numbered.id) AS last_message_id,
               max(numbered.channel_seq) AS last_seq
        FROM numbered JOIN bumped ON bumped.id = numbered.channel_id AND bumped.homed_here
        GROUP BY 1, 2
    ), moved AS (
        -- A sender has read up to their own message. Locked in key order, as a batch of sends
        -- writes the rows of those it mentions: in any other order this and such a batch could
        -- wait on each other.
        INSERT INTO read_states AS rs (user_id, channel_id, last_message_id, last_seq)
        SELECT senders.user_id, senders.channel_id, senders.last_message_id, senders.last_seq FROM senders
        ORDER BY senders.user_id, senders.channel_id
        ON CONFLICT (user_id, channel_id) DO UPDATE SET
            last_message_id = GREATEST(rs.last_message_id, EXCLUDED.last_message_id),
            last_seq = GREATEST(rs.last_seq, EXCLUDED.last_seq), version = nextval('read_state_versions')
        RETURNING rs.user_id, rs.channel_id, rs.last_message_id, rs.last_seq, rs.mention_count, rs.version
    )
    SELECT 'r'::text, NULL::bigint, NULL::bigint, NULL::text, NULL::bigint, moved.channel_id, moved.user_id, NULL::text, NULL::text,
           moved.last_message_id, moved.last_seq, moved.mention_count, moved.version
    FROM moved
    UNION ALL
    SELECT 'c'::text, NULL::bigint, NULL::bigint, NULL::text, NULL::bigint, bumped.id, NULL::bigint, NULL::text, NULL::text,
           NULL::bigint, bumped.message_seq, NULL::integer, NULL::bigint
    FROM bumped;
END
$$ LANGUAGE plpgsql;
