-- Hot rows are counted per backend and merged into shared memory at the
-- end of each statement (issue 18 section 3).  A statement that updates
-- more tables than a backend keeps partial sketches for (4) merges them as
-- it goes; a session reads its own counts at once; exact counts stay exact.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;   -- when run alone
RESET client_min_messages;

CREATE TABLE hm1 (id int PRIMARY KEY, v int) USING steward;
CREATE TABLE hm2 (LIKE hm1 INCLUDING ALL) USING steward;
CREATE TABLE hm3 (LIKE hm1 INCLUDING ALL) USING steward;
CREATE TABLE hm4 (LIKE hm1 INCLUDING ALL) USING steward;
CREATE TABLE hm5 (LIKE hm1 INCLUDING ALL) USING steward;
CREATE TABLE hm6 (LIKE hm1 INCLUDING ALL) USING steward;
INSERT INTO hm1 SELECT g, 0 FROM generate_series(1, 3) g;
INSERT INTO hm2 SELECT * FROM hm1;
INSERT INTO hm3 SELECT * FROM hm1;
INSERT INTO hm4 SELECT * FROM hm1;
INSERT INTO hm5 SELECT * FROM hm1;
INSERT INTO hm6 SELECT * FROM hm1;

-- Statements updating six tables at once (twice): key 1 in every table.
WITH u1 AS (UPDATE hm1 SET v = v + 1 WHERE id = 1 RETURNING 1),
     u2 AS (UPDATE hm2 SET v = v + 1 WHERE id = 1 RETURNING 1),
     u3 AS (UPDATE hm3 SET v = v + 1 WHERE id = 1 RETURNING 1),
     u4 AS (UPDATE hm4 SET v = v + 1 WHERE id = 1 RETURNING 1),
     u5 AS (UPDATE hm5 SET v = v + 1 WHERE id = 1 RETURNING 1),
     u6 AS (UPDATE hm6 SET v = v + 1 WHERE id = 1 RETURNING 1)
SELECT (SELECT count(*) FROM u1) + (SELECT count(*) FROM u2) + (SELECT count(*) FROM u3)
     + (SELECT count(*) FROM u4) + (SELECT count(*) FROM u5) + (SELECT count(*) FROM u6) AS updated;
\g
-- In a transaction, with a rolled-back savepoint (its updates happened:
-- hot rows count writes, committed or not) and a function's statements.
BEGIN;
UPDATE hm1 SET v = v + 1 WHERE id = 1;
SAVEPOINT s;
UPDATE hm2 SET v = v + 1 WHERE id = 1;
ROLLBACK TO SAVEPOINT s;
DO $$ BEGIN
    UPDATE hm2 SET v = v + 1 WHERE id = 1;
    UPDATE hm3 SET v = v + 1 WHERE id = 1;
    UPDATE hm4 SET v = v + 1 WHERE id = 1;
    UPDATE hm5 SET v = v + 1 WHERE id = 1;
    UPDATE hm6 SET v = v + 1 WHERE id = 1;
END $$;
-- Read inside the transaction: this session's counts are all there.
SELECT h.relid::regclass AS tbl, h.key_text, h.updates, h.error_bound
  FROM steward.hot_rows h WHERE h.relid::regclass::text LIKE 'hm_' ORDER BY 1, 2;
COMMIT;
-- Several keys of one table in one statement, then one of them again.
UPDATE hm6 SET v = v + 1;
UPDATE hm6 SET v = v + 1 WHERE id = 3;
SELECT key_text, updates, error_bound FROM steward.hot_rows
 WHERE relid = 'hm6'::regclass ORDER BY key_text;

-- A bulk UPDATE of 25 new keys into k = 10 slots: each new key replaces
-- the first slot with the smallest count (keys 16-20 end at 2, 21-25 at 3,
-- as a full search of the slots for every key picks them); then hits and
-- new keys against the merged counts.
CREATE TABLE hm7 (id int PRIMARY KEY, v int) USING steward;
INSERT INTO hm7 SELECT g, 0 FROM generate_series(1, 25) g;
UPDATE hm7 SET v = v + 1;
SELECT key_text, updates, error_bound FROM steward.hot_rows
 WHERE relid = 'hm7'::regclass ORDER BY updates DESC, key_text::int;
UPDATE hm7 SET v = v + 1 WHERE id IN (3, 24);
UPDATE hm7 SET v = v + 1 WHERE id > 12;
SELECT key_text, updates, error_bound FROM steward.hot_rows
 WHERE relid = 'hm7'::regclass ORDER BY updates DESC, key_text::int;

-- A key of one pass-by-value column takes a path of its own (read once,
-- its image copied), other keys the general one: both count alike and
-- show their keys.  After steward.reset() the partial sketch a table's
-- rules cache remembers is taken afresh: counts start over.
CREATE TABLE hm8 (id bigint PRIMARY KEY, v int) USING steward;
CREATE TABLE hm9 (a int, b text, v int, PRIMARY KEY (a, b)) USING steward;
INSERT INTO hm8 SELECT g, 0 FROM generate_series(1, 3) g;
INSERT INTO hm9 SELECT g, 'k' || g, 0 FROM generate_series(1, 3) g;
UPDATE hm8 SET v = v + 1;
UPDATE hm8 SET v = v + 1 WHERE id = 2;
UPDATE hm9 SET v = v + 1;
UPDATE hm9 SET v = v + 1 WHERE a = 2;
SELECT relid::regclass AS tbl, key_text, updates, error_bound FROM steward.hot_rows
 WHERE relid IN ('hm8'::regclass, 'hm9'::regclass) ORDER BY 1, 2;
SELECT steward.reset();
UPDATE hm8 SET v = v + 1 WHERE id = 3;
UPDATE hm9 SET v = v + 1 WHERE a = 3;
SELECT relid::regclass AS tbl, key_text, updates, error_bound FROM steward.hot_rows
 WHERE relid IN ('hm8'::regclass, 'hm9'::regclass) ORDER BY 1, 2;

DROP TABLE hm1, hm2, hm3, hm4, hm5, hm6, hm7, hm8, hm9;
