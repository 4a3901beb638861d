-- steward.verify_index() and steward.hash_index_stats() refuse (55000,
-- with a HINT) a steward_hash index that a failed or cancelled CREATE
-- INDEX CONCURRENTLY left invalid, as amcheck refuses an invalid btree:
-- before (review9 F13) they reported XX001 "could not read block 0" (an
-- index never built has no pages) or a "missing entry" problem for every
-- row written since (one not yet ready), a corruption report for a state
-- PostgreSQL considers normal.  verify() of the table reports such an
-- index as not checked.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE vii (id int PRIMARY KEY, k int) USING steward;
INSERT INTO vii SELECT g, g FROM generate_series(1, 200) g;
CREATE FUNCTION vii_key(int) RETURNS int LANGUAGE plpgsql IMMUTABLE
    AS $$ BEGIN IF $1 = 150 THEN RAISE EXCEPTION 'no key for 150'; END IF; RETURN $1; END $$;
-- The build fails on one row: the index stays, invalid and not ready.
CREATE INDEX CONCURRENTLY vii_bad ON vii USING steward_hash (vii_key(k));
SELECT indisvalid, indisready FROM pg_index WHERE indexrelid = 'vii_bad'::regclass;
SELECT * FROM steward.verify_index('vii_bad');
SELECT * FROM steward.hash_index_stats('vii_bad');
-- Ready but not valid (as CIC leaves it between its phases).
CREATE INDEX vii_k ON vii USING steward_hash (k);
UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'vii_k'::regclass;
SELECT * FROM steward.verify_index('vii_k');
SELECT "check", passed, detail FROM steward.verify('vii') WHERE "check" LIKE 'index%' ORDER BY 1;
-- Built again, both are checked.
UPDATE vii SET k = 151 WHERE id = 150;
REINDEX INDEX vii_bad;
REINDEX INDEX vii_k;
SELECT * FROM steward.verify_index('vii_bad');
SELECT buckets > 0 AS has_buckets FROM steward.hash_index_stats('vii_k');
SELECT "check", passed, detail FROM steward.verify('vii') WHERE "check" LIKE 'index%' ORDER BY 1;
DROP TABLE vii;
DROP FUNCTION vii_key(int);
