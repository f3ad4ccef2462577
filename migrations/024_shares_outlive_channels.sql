-- A source sends a relay only the events of channels shared into the relay's cell (and of DMs
-- with its users). A shared channel's deletion is such an event, so its share must outlive the
-- channel: without the cascade, the registry still names the channel when the relay reads it.
ALTER TABLE channel_shares DROP CONSTRAINT IF EXISTS channel_shares_channel_id_fkey;
