-- codereview18 C3: the partition a row moves to, when the partition it
-- leaves has a rule its partitioned table lacks, is now the one the
-- executor routes the row to (ExecFindPartition, before the delete),
-- instead of the leaf whose partition constraint the row satisfies among
-- all leaves, each opened and locked (regress 404).  The same partition
-- must come out for every kind of partitioning: list (with a NULL
-- partition), range and hash, default partitions, NULL keys,
-- sub-partitioned trees (a statement on the top table or on a
-- sub-partitioned one), MERGE, and a row no partition takes.  A move into
-- a leaf with the rule is judged as an update (the version goes up); into
-- one without it is refused (0A000), naming that leaf.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r405;
SET search_path = r405;
\set VERBOSITY terse

-- List, with a NULL partition and a default one; lt_b lacks the rule.
CREATE TABLE lt (k text, id int, version bigint) PARTITION BY LIST (k);
CREATE TABLE lt_a PARTITION OF lt FOR VALUES IN ('a') USING steward;
CREATE TABLE lt_b PARTITION OF lt FOR VALUES IN ('b') USING steward;
CREATE TABLE lt_n PARTITION OF lt FOR VALUES IN (NULL) USING steward;
CREATE TABLE lt_d PARTITION OF lt DEFAULT USING steward;
SELECT steward.track_versions('r405.lt_a', 'version');
SELECT steward.track_versions('r405.lt_n', 'version');
SELECT steward.track_versions('r405.lt_d', 'version');
INSERT INTO lt VALUES ('a', 1, 1);
UPDATE lt SET k = NULL WHERE id = 1;
SELECT tableoid::regclass, k, version FROM lt;
UPDATE lt SET k = 'zz' WHERE id = 1;
SELECT tableoid::regclass, k, version FROM lt;
UPDATE lt SET k = 'b' WHERE id = 1;
UPDATE lt SET k = 'a' WHERE id = 1;
SELECT tableoid::regclass, k, version FROM lt;
UPDATE lt SET k = 'b' WHERE id = 1;
SELECT tableoid::regclass, k, version FROM lt;

-- Range, a NULL key going to the default partition; rt_hi lacks the rule.
CREATE TABLE rt (k int, id int, version bigint) PARTITION BY RANGE (k);
CREATE TABLE rt_lo PARTITION OF rt FOR VALUES FROM (MINVALUE) TO (100) USING steward;
CREATE TABLE rt_hi PARTITION OF rt FOR VALUES FROM (100) TO (200) USING steward;
CREATE TABLE rt_d PARTITION OF rt DEFAULT USING steward;
SELECT steward.track_versions('r405.rt_lo', 'version');
SELECT steward.track_versions('r405.rt_d', 'version');
INSERT INTO rt VALUES (1, 1, 1);
UPDATE rt SET k = 150 WHERE id = 1;
UPDATE rt SET k = NULL WHERE id = 1;
SELECT tableoid::regclass, k, version FROM rt;
UPDATE rt SET k = 500 WHERE id = 1;
UPDATE rt SET k = 50 WHERE id = 1;
SELECT tableoid::regclass, k, version FROM rt;
UPDATE rt SET k = 199 WHERE id = 1;
SELECT tableoid::regclass, k, version FROM rt;

-- Hash: the rule on ht_0 and ht_1 only; NULL hashes into ht_0.
CREATE TABLE ht (k int, id int, version bigint) PARTITION BY HASH (k);
CREATE TABLE ht_0 PARTITION OF ht FOR VALUES WITH (MODULUS 4, REMAINDER 0) USING steward;
CREATE TABLE ht_1 PARTITION OF ht FOR VALUES WITH (MODULUS 4, REMAINDER 1) USING steward;
CREATE TABLE ht_2 PARTITION OF ht FOR VALUES WITH (MODULUS 4, REMAINDER 2) USING steward;
CREATE TABLE ht_3 PARTITION OF ht FOR VALUES WITH (MODULUS 4, REMAINDER 3) USING steward;
SELECT steward.track_versions('r405.ht_0', 'version');
SELECT steward.track_versions('r405.ht_1', 'version');
SELECT min(g) FILTER (WHERE satisfies_hash_partition('r405.ht'::regclass, 4, 0, g)) AS k0,
       min(g) FILTER (WHERE satisfies_hash_partition('r405.ht'::regclass, 4, 1, g)) AS k1,
       min(g) FILTER (WHERE satisfies_hash_partition('r405.ht'::regclass, 4, 2, g)) AS k2
  FROM generate_series(1, 100) g \gset
INSERT INTO ht VALUES (:k0, 1, 1);
UPDATE ht SET k = :k1 WHERE id = 1;
SELECT tableoid::regclass, k = :k1 AS moved, version FROM ht;
UPDATE ht SET k = NULL WHERE id = 1;
SELECT tableoid::regclass, k, version FROM ht;
UPDATE ht SET k = :k2 WHERE id = 1;
SELECT tableoid::regclass, k, version FROM ht;

-- Sub-partitioned: the rule on st_eu (so on its leaves) and on st_x_d,
-- the default leaf of another sub-partitioned partition; st_us lacks it.
CREATE TABLE st (r text, k int, id int, version bigint) PARTITION BY LIST (r);
CREATE TABLE st_eu PARTITION OF st FOR VALUES IN ('eu') PARTITION BY RANGE (k);
CREATE TABLE st_eu_lo PARTITION OF st_eu FOR VALUES FROM (MINVALUE) TO (10) USING steward;
CREATE TABLE st_eu_hi PARTITION OF st_eu FOR VALUES FROM (10) TO (MAXVALUE) USING steward;
CREATE TABLE st_us PARTITION OF st FOR VALUES IN ('us') USING steward;
CREATE TABLE st_x PARTITION OF st FOR VALUES IN ('x') PARTITION BY LIST (k);
CREATE TABLE st_x_d PARTITION OF st_x DEFAULT USING steward;
SELECT steward.track_versions('r405.st_eu', 'version');
SELECT steward.track_versions('r405.st_x_d', 'version');
INSERT INTO st VALUES ('eu', 1, 1, 1);
UPDATE st SET k = 20 WHERE id = 1;
SELECT tableoid::regclass, r, k, version FROM st;
-- An UPDATE of the sub-partitioned table routes from there; it has the rule.
UPDATE st_eu SET k = 2 WHERE id = 1;
SELECT tableoid::regclass, r, k, version FROM st;
UPDATE st SET r = 'us' WHERE id = 1;
MERGE INTO st USING (VALUES (1)) v(id) ON st.id = v.id
    WHEN MATCHED THEN UPDATE SET r = 'us';
UPDATE st SET r = 'x', k = NULL WHERE id = 1;
SELECT tableoid::regclass, r, k, version FROM st;
MERGE INTO st USING (VALUES (1)) v(id) ON st.id = v.id
    WHEN MATCHED THEN UPDATE SET r = 'eu', k = 30;
SELECT tableoid::regclass, r, k, version FROM st;
-- No partition takes the row: routing's own error, the row kept.
UPDATE st SET r = 'zz' WHERE id = 1;
UPDATE st_eu SET k = NULL WHERE id = 1;
SELECT tableoid::regclass, r, k, version FROM st;
-- Routing from st_x, which lacks the rule st_x_d has: a row leaving st_x
-- fails st_x's partition constraint (routing's error), the row kept.
UPDATE st SET r = 'x', k = 7 WHERE id = 1;
UPDATE st_x SET r = 'eu' WHERE id = 1;
SELECT tableoid::regclass, r, k, version FROM st;

\set VERBOSITY default
RESET search_path;
DROP SCHEMA r405 CASCADE;
