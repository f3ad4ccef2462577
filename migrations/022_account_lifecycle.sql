-- Operators deactivate accounts (no login, every token revoked; undone by reactivating) and
-- erase them (the row stays as a tombstone, so what referred to the person still resolves, but
-- nothing of theirs is left in it).
ALTER TABLE users ADD COLUMN IF NOT EXISTS deactivated_at timestamptz;
ALTER TABLE users ADD COLUMN IF NOT EXISTS erased_at timestamptz;
