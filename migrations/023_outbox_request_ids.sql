-- The id of the request that wrote each outbox row: relays carry it to the rows their events
-- make in other cells, so one id follows a change from the edge to every cell it reaches.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS request_id text;
