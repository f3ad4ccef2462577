-- A channel's permission overwrites, as Discord's permission_overwrites array
-- ([{"id":"…","type":0|1,"allow":"…","deny":"…"}]): read with the channel in the one access
-- query every check makes, and copied with the channel by a workspace move.
ALTER TABLE channels ADD COLUMN IF NOT EXISTS permission_overwrites jsonb NOT NULL DEFAULT '[]';
