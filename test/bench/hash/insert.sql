-- (2) single-row insert of a new random text UUID key.
INSERT INTO w (k, v) VALUES (gen_random_uuid()::text, 0);
