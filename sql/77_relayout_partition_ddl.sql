-- DDL that would change one layout's rows behind a relayout's apply
-- trigger is refused while the relayout runs (review8 #16, #28, #9):
-- TRUNCATE of any partition of either layout, ATTACH / DETACH PARTITION on
-- a layout, DROP TABLE of a layout's partition, ATTACH of a layout as a
-- partition elsewhere.  No row is lost by complete, rollback or cleanup;
-- partitions created during the relayout are guarded too; the guards go
-- with the migration.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE rp_owner;
GRANT CREATE ON SCHEMA public TO rp_owner;
SET ROLE rp_owner;

-- (#16) an unpartitioned table re-laid out: TRUNCATE of a new partition,
-- before and after complete; DETACH and DROP of one after complete.
CREATE TABLE tq (id int PRIMARY KEY, v int) USING steward;
INSERT INTO tq SELECT g, g FROM generate_series(1, 20) g;
SELECT steward.migration_start('tq_rl', '[{"relayout": {"table": "tq", "partition_by": "HASH (id)", "partitions": 2}}]');
TRUNCATE tq_p0;
CALL steward.migration_backfill('tq_rl');
SELECT "check", passed FROM steward.migration_validate('tq_rl') WHERE NOT passed;
SELECT steward.migration_complete('tq_rl');
TRUNCATE tq;
TRUNCATE tq_p0;
TRUNCATE tq_relayout_old;
ALTER TABLE tq DETACH PARTITION tq_p0;
ALTER TABLE tq DETACH PARTITION tq_p0 CONCURRENTLY;
DROP TABLE tq_p0;
DROP TABLE tq_p1, tq_p0;
SELECT count(*) FROM tq;
SELECT steward.migration_rollback('tq_rl');
SELECT count(*) FROM tq;
-- the guard went with the migration
SELECT tgrelid::regclass, tgname FROM pg_trigger WHERE tgname LIKE 'zz_steward_relayout%' ORDER BY 1, 2;
SELECT to_regclass('tq_p0');

-- (#28) a partition attached to the live table after complete: refused;
-- one created with CREATE TABLE ... PARTITION OF is empty, guarded, and
-- its rows reach the old layout, so the rollback keeps them.
CREATE TABLE ra (id int PRIMARY KEY, v int) USING steward;
INSERT INTO ra SELECT g, g FROM generate_series(1, 50) g;
SELECT steward.migration_start('ra_rl', '[{"relayout": {"table": "ra", "partition_by": "RANGE (id)", "partitions": [{"from": [null], "to": [100]}]}}]');
CALL steward.migration_backfill('ra_rl');
SELECT "check", passed FROM steward.migration_validate('ra_rl') WHERE NOT passed;
SELECT steward.migration_complete('ra_rl');
CREATE TABLE ra_more (id int NOT NULL PRIMARY KEY, v int) USING steward;
INSERT INTO ra_more SELECT g, g FROM generate_series(100, 149) g;
ALTER TABLE ra ATTACH PARTITION ra_more FOR VALUES FROM (100) TO (200);
CREATE TABLE ra_p1 PARTITION OF ra FOR VALUES FROM (200) TO (300) USING steward;
INSERT INTO ra SELECT g, g FROM generate_series(200, 209) g;
TRUNCATE ra_p1;
SELECT count(*) FROM ra;
SELECT count(*) FROM ra_relayout_old;
SELECT steward.migration_rollback('ra_rl');
SELECT count(*) FROM ra;
SELECT count(*) FROM ra_more;
DROP TABLE ra_more;

-- (#9) a layout attached as a partition elsewhere: refused, before and
-- after complete; cleanup leaves the parent's partitions alone.
CREATE TABLE zq (id int, k int, v int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE zq2 PARTITION OF zq FOR VALUES IN (2) USING steward;
CREATE TABLE za (id int, k int, v int, PRIMARY KEY (id, k)) USING steward;
INSERT INTO za SELECT g, 1, 0 FROM generate_series(1, 10) g;
SELECT steward.migration_start('za_rl', '[{"relayout": {"table": "za", "partition_by": "HASH (id)", "partitions": 2}}]');
ALTER TABLE zq ATTACH PARTITION za FOR VALUES IN (1);
ALTER TABLE zq ATTACH PARTITION za_relayout_new FOR VALUES IN (1);
CALL steward.migration_backfill('za_rl');
SELECT "check", passed FROM steward.migration_validate('za_rl') WHERE NOT passed;
SELECT steward.migration_complete('za_rl');
ALTER TABLE zq ATTACH PARTITION za_relayout_old FOR VALUES IN (1);
ALTER TABLE zq ATTACH PARTITION za FOR VALUES IN (1);
SELECT steward.migration_cleanup('za_rl');
SELECT count(*) FROM za;
-- after the migration, the same DDL is the user's again
ALTER TABLE za DETACH PARTITION za_p0;
TRUNCATE za_p0;
DROP TABLE za_p0;
ALTER TABLE zq DETACH PARTITION zq2;
ALTER TABLE zq ATTACH PARTITION zq2 FOR VALUES IN (2);

-- A partitioned table re-laid out: the old layout's partitions (and
-- sub-partitions) are guarded as well; cleanup drops them, not others.
CREATE TABLE pq (id int, k int, v int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE pq1 PARTITION OF pq FOR VALUES IN (1) PARTITION BY HASH (id);
CREATE TABLE pq1a PARTITION OF pq1 FOR VALUES WITH (MODULUS 2, REMAINDER 0) USING steward;
CREATE TABLE pq1b PARTITION OF pq1 FOR VALUES WITH (MODULUS 2, REMAINDER 1) USING steward;
CREATE TABLE pq2 PARTITION OF pq FOR VALUES IN (2) USING steward;
INSERT INTO pq SELECT g, 1 + g % 2, 0 FROM generate_series(1, 30) g;
SELECT steward.migration_start('pq_rl', '[{"relayout": {"table": "pq", "partition_by": "HASH (id)", "partitions": 3}}]');
TRUNCATE pq1a;
TRUNCATE pq2;
DROP TABLE pq1b;
ALTER TABLE pq1 DETACH PARTITION pq1b;
ALTER TABLE pq DETACH PARTITION pq2;
CREATE TABLE pq3 PARTITION OF pq FOR VALUES IN (3) USING steward;
TRUNCATE pq3;
INSERT INTO pq VALUES (100, 3, 0);
CALL steward.migration_backfill('pq_rl');
SELECT "check", passed FROM steward.migration_validate('pq_rl') WHERE NOT passed;
-- a partition that lacks the guard (attached by an ALTER TABLE racing the
-- start) gets it at the cutover
-- (dropped by a superuser going around the DDL guard, which refuses it)
DROP TRIGGER zz_steward_relayout_truncate ON pq2;
RESET ROLE;
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
DROP TRIGGER zz_steward_relayout_truncate ON pq2;
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
SET ROLE rp_owner;
SELECT steward.migration_complete('pq_rl');
TRUNCATE pq_relayout_old;
TRUNCATE pq1b;
TRUNCATE pq2;
SELECT steward.migration_cleanup('pq_rl');
SELECT count(*) FROM pq;
SELECT tgrelid::regclass, tgname FROM pg_trigger WHERE tgname LIKE 'zz_steward_relayout%' ORDER BY 1, 2;

RESET ROLE;
DROP TABLE tq, ra, za, zq, pq;
REVOKE CREATE ON SCHEMA public FROM rp_owner;
DROP ROLE rp_owner;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('tq_rl'), ('ra_rl'), ('za_rl'), ('pq_rl');
\i test/sql/drop_migration_records.sql
