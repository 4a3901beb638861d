-- (4) INSERT ... ON CONFLICT DO NOTHING, half of the keys already present
-- (md5 keys of the loaded rows), half new random UUIDs.
\set i random(1, :rows)
\set dup random(0, 1)
INSERT INTO w (k, v)
VALUES (CASE WHEN :dup = 1 THEN md5(:i::text)::uuid::text ELSE gen_random_uuid()::text END, :i)
ON CONFLICT DO NOTHING;
