-- One table of kept plans, sized by what it keeps (plan5; closing37 items
-- 1 and 5): a relayout trigger's apply statements (one plan per statement
-- kind and leaf partition the trigger fires on), a migration's batches
-- and pg_steward's own catalog statements share as_owner.c's kept_plan.
-- 1. A table of 24 partitions under a relayout keeps one plan per kind
--    and partition (72, more than the 16 slots of the batch table that
--    made INSERTs 2x slower when they shared it: codereview7 D), and a
--    second round of writes makes no new ones.
-- 2. A plan is found by the planner settings it was made under
--    (codereview6 F3): a write under enable_seqscan = off gets a plan of
--    its own.
-- 3. A dropped table's plans are freed (the trigger's per-trigger table
--    kept them for the backend's life).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS r188_alice;
RESET client_min_messages;
SET steward.governor = off;
CREATE ROLE r188_alice;
GRANT CREATE ON SCHEMA public TO r188_alice;
SELECT format('GRANT CREATE ON DATABASE %I TO r188_alice', current_database()) \gexec

SET ROLE r188_alice;
CREATE TABLE t188 (id int PRIMARY KEY, a int) PARTITION BY HASH (id);
SELECT format('CREATE TABLE t188_p%s PARTITION OF t188 FOR VALUES WITH (MODULUS 24, REMAINDER %s)', i, i)
  FROM generate_series(0, 23) i \gexec
INSERT INTO t188 SELECT g, g FROM generate_series(1, 100) g;
SELECT steward.migration_start('m188', '[{"relayout": {"table": "t188", "partition_by": "HASH (id)", "partitions": 2}}]');
INSERT INTO t188 SELECT g, g FROM generate_series(101, 2000) g;
UPDATE t188 SET a = a + 1 WHERE id > 1000;
DELETE FROM t188 WHERE id > 1900;
RESET ROLE;
CREATE VIEW kept188 AS
SELECT CASE WHEN ident LIKE 'INSERT INTO public.t188_relayout_new%' THEN 'insert'
            WHEN ident LIKE 'WITH d AS (DELETE FROM public.t188_relayout_new%' THEN 'update'
            WHEN ident LIKE 'DELETE FROM public.t188_relayout_new%' THEN 'delete' END AS statement,
       count(*) AS plans
  FROM pg_backend_memory_contexts
 WHERE name = 'CachedPlanSource' AND ident LIKE '%public.t188_relayout_new%'
 GROUP BY 1 ORDER BY 1;
-- part 1: 24 of each kind
SELECT * FROM kept188;
SET ROLE r188_alice;
INSERT INTO t188 SELECT g, g FROM generate_series(2001, 3000) g;
UPDATE t188 SET a = a + 1 WHERE id > 2500;
DELETE FROM t188 WHERE id > 2900;
RESET ROLE;
-- the same 24 of each kind served the second round
SELECT * FROM kept188;
-- every change reached the new layout (the 100 rows from before the
-- start wait for a backfill)
SELECT (SELECT count(*) FROM t188) AS rows,
       (SELECT count(*) FROM t188_relayout_new) AS copied,
       (SELECT count(*) FROM t188 o JOIN t188_relayout_new n USING (id)
         WHERE o.a IS DISTINCT FROM n.a) AS differ;

-- part 2: a write under another planner setting gets a plan of its own
SET ROLE r188_alice;
SET enable_seqscan = off;
INSERT INTO t188 VALUES (5001, 1);
RESET enable_seqscan;
INSERT INTO t188 VALUES (5002, 1);
RESET ROLE;
SELECT * FROM kept188 WHERE statement = 'insert';
SELECT (SELECT count(*) FROM t188_relayout_new WHERE id > 5000) AS new_rows;

-- part 3: a dropped table's plans go at the next lookup
SET ROLE r188_alice;
SELECT steward.migration_rollback('m188');
DROP TABLE t188;
CREATE TABLE u188 (id int PRIMARY KEY);
ALTER TABLE u188 ADD COLUMN b int;
RESET ROLE;
SELECT count(*) AS plans_of_dropped_table FROM pg_backend_memory_contexts
 WHERE name = 'CachedPlanSource' AND ident LIKE '%t188%';

DROP VIEW kept188;
SET ROLE r188_alice;
DROP TABLE u188;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM r188_alice;
SELECT format('REVOKE CREATE ON DATABASE %I FROM r188_alice', current_database()) \gexec
DROP ROLE r188_alice;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('m188');
\i test/sql/drop_migration_records.sql
