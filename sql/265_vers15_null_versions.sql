-- vers15 (review25 W1): a NULL version got in through every check that
-- judges stored versions (track_versions, the steward label, ATTACH
-- PARTITION refused only "v < 1", which NULL never matches), and
-- verify() said "all versions >= 1" over NULL rows stored under
-- session_replication_role = replica.  A NULL version matches no
-- client's WHERE version = :read, and a dump restores it as 1.  Now
-- NULL counts as below 1: 23514 naming the count, with a HINT whose
-- UPDATE fixes both; verify() lists NULL rows with the same UPDATE.
-- Rows below 1 alone keep their old message.  A restore labels a table
-- before its rows, so it never meets them (part 5).
\set SHOW_CONTEXT never
\set VERBOSITY default
SET client_min_messages = warning;
SET default_table_access_method = steward;

-- 1. track_versions over NULL rows, over NULL and below-1 rows, and over
-- below-1 rows alone (the old words).
CREATE TABLE r265_n (id int PRIMARY KEY, v bigint);
INSERT INTO r265_n VALUES (1, NULL);
SELECT steward.track_versions('r265_n', 'v');
INSERT INTO r265_n VALUES (2, NULL), (3, 0);
SELECT steward.track_versions('r265_n', 'v');
UPDATE r265_n SET v = 1 WHERE v IS NULL;
SELECT steward.track_versions('r265_n', 'v');
-- The HINT's UPDATE fixes them all.
UPDATE r265_n SET v = NULL WHERE id = 1;
UPDATE r265_n SET v = 1 WHERE v IS NULL OR v < 1;
SELECT steward.track_versions('r265_n', 'v');
SELECT id, v FROM r265_n ORDER BY id;

-- 2. A label on a table storing a NULL version (as track_versions).
CREATE TABLE r265_l (id int PRIMARY KEY, v bigint);
INSERT INTO r265_l VALUES (1, NULL), (2, 5);
SECURITY LABEL FOR steward ON COLUMN r265_l.v IS '{"v": 1, "kind": "version"}';
SELECT count(*) AS rules FROM steward.column_rules WHERE relid = 'r265_l'::regclass;
INSERT INTO r265_l VALUES (3, -1), (4, NULL);
SECURITY LABEL FOR steward ON COLUMN r265_l.v IS '{"v": 1, "kind": "version"}';
UPDATE r265_l SET v = 1 WHERE v IS NULL OR v < 1;
SECURITY LABEL FOR steward ON COLUMN r265_l.v IS '{"v": 1, "kind": "version"}';
SELECT count(*) AS rules FROM steward.column_rules WHERE relid = 'r265_l'::regclass;

-- 3. ATTACH PARTITION of a table storing a NULL version under a tracked
-- parent: refused, the attach undone; fixed, it attaches.
CREATE TABLE r265_p (id int, v bigint) PARTITION BY RANGE (id);
CREATE TABLE r265_p1 PARTITION OF r265_p FOR VALUES FROM (0) TO (10);
SELECT steward.track_versions('r265_p', 'v');
INSERT INTO r265_p VALUES (1, NULL);
CREATE TABLE r265_p2 (id int, v bigint);
INSERT INTO r265_p2 VALUES (15, NULL), (16, 2);
ALTER TABLE r265_p ATTACH PARTITION r265_p2 FOR VALUES FROM (10) TO (20);
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'r265_p'::regclass;
UPDATE r265_p2 SET v = 1 WHERE v IS NULL OR v < 1;
ALTER TABLE r265_p ATTACH PARTITION r265_p2 FOR VALUES FROM (10) TO (20);
SELECT tableoid::regclass, id, v FROM r265_p ORDER BY id;

-- 4. Rows stored as sent under replica: verify() lists NULL versions
-- (they were "all versions >= 1"), with and without rows below 1, on the
-- table and through its partitioned parent.
SET session_replication_role = replica;
INSERT INTO r265_n VALUES (5, NULL);
INSERT INTO r265_p VALUES (2, NULL), (3, NULL);
RESET session_replication_role;
SELECT "check", passed, detail FROM steward.verify('r265_n') WHERE "check" LIKE 'versions%';
SELECT "check", passed, detail FROM steward.verify('r265_p') WHERE "check" LIKE 'versions%';
SET session_replication_role = replica;
INSERT INTO r265_n VALUES (6, 0);
RESET session_replication_role;
SELECT "check", passed, detail FROM steward.verify('r265_n') WHERE "check" LIKE 'versions%';
-- A client reading version NULL never matches its row.
UPDATE r265_n SET v = 2 WHERE id = 5 AND v = NULL RETURNING id;
-- The detail's UPDATE fixes them; verify() passes again.
UPDATE r265_n SET v = 1 WHERE v IS NULL OR v < 1;
UPDATE r265_p SET v = 1 WHERE v IS NULL OR v < 1;
SELECT "check", passed, detail FROM steward.verify('r265_n') WHERE "check" LIKE 'versions%';
SELECT "check", passed, detail FROM steward.verify('r265_p') WHERE "check" LIKE 'versions%';
SELECT id, v FROM r265_n ORDER BY id;

-- 5. As a restore: the label comes right after CREATE TABLE, before the
-- rows (not read: the table stores none), and the COPY of a NULL version
-- stores 1, so no row is lost.
CREATE TABLE r265_r (id int PRIMARY KEY, v bigint);
SECURITY LABEL FOR steward ON COLUMN r265_r.v IS '{"v": 1, "kind": "version"}';
COPY r265_r FROM stdin;
1	\N
2	7
\.
SELECT id, v FROM r265_r ORDER BY id;

DROP TABLE r265_n, r265_l, r265_p, r265_r;
