-- Attachments. A message's attachments travel in its row (as Discord's objects with unsigned
-- URLs), so archives, moves and relays carry them with the message. Each file's bytes are a
-- blob named by its SHA-256 in the cell's blob store, stored once however often uploaded;
-- `attachments` says which blob an attachment is (for serving it) and which blobs are still
-- referenced (a blob no row names is swept).
ALTER TABLE messages ADD COLUMN IF NOT EXISTS attachments jsonb NOT NULL DEFAULT '[]';

CREATE TABLE IF NOT EXISTS attachments (
    id           bigint PRIMARY KEY,
    channel_id   bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    message_id   bigint NOT NULL,
    sha256       text NOT NULL,
    size         bigint NOT NULL,
    content_type text NOT NULL,
    filename     text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS attachments_by_message ON attachments (channel_id, message_id);
CREATE INDEX IF NOT EXISTS attachments_by_blob ON attachments (sha256);
