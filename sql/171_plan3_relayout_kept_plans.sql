-- A relayout's batches keep their plans (issue 18, plan3): its two batch
-- statements (from the first key, and after the last) are parsed and
-- planned once per backend, found by text, table and owner, in the same
-- table of kept plans as a column backfill's (as_owner.c kept_plan); the
-- rows copied are the same.  Was: planned at every batch.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS r171_alice;
RESET client_min_messages;
SET steward.governor = off;
CREATE ROLE r171_alice;
GRANT CREATE ON SCHEMA public TO r171_alice;
SELECT format('GRANT CREATE ON DATABASE %I TO r171_alice', current_database()) \gexec

SET ROLE r171_alice;
CREATE TABLE t171 (id int PRIMARY KEY, a int);
INSERT INTO t171 SELECT g, g * 3 FROM generate_series(1, 1000) g;
SELECT steward.migration_start('m171', '[{"relayout": {"table": "t171", "partition_by": "HASH (id)", "partitions": 2}}]');
CALL steward.migration_backfill('m171', 50);
SELECT phase, rows_backfilled, batches FROM steward.migrations WHERE name = 'm171';
SELECT (SELECT count(*) FROM t171_relayout_new) AS copied,
       (SELECT count(*) FROM t171 o FULL JOIN t171_relayout_new n USING (id)
         WHERE o.a IS DISTINCT FROM n.a) AS differ;
RESET ROLE;
-- The kept plans of this backend: one per batch text (the first, and
-- after the last key), not one per batch nor none.
SELECT count(*) AS kept_batch_plans FROM pg_backend_memory_contexts
 WHERE name = 'CachedPlanSource' AND ident LIKE 'WITH b AS (SELECT %t171%';

-- A row added after the backfill is copied by the next one, with the kept
-- plans (re-planned by the plan cache if the statistics call for it).
SET ROLE r171_alice;
INSERT INTO t171 VALUES (1001, 7);
SELECT steward.migration_rollback('m171');
SELECT steward.migration_start('m171b', '[{"relayout": {"table": "t171", "partition_by": "HASH (id)", "partitions": 3}}]');
CALL steward.migration_backfill('m171b', 100);
SELECT phase, rows_backfilled FROM steward.migrations WHERE name = 'm171b';
SELECT (SELECT count(*) FROM t171_relayout_new) AS copied,
       (SELECT count(*) FROM t171 o FULL JOIN t171_relayout_new n USING (id)
         WHERE o.a IS DISTINCT FROM n.a) AS differ;
RESET ROLE;
-- Two plans served m171b (same texts, table and owner: kept again after
-- the start's DDL on the table invalidated it).
SELECT count(*) AS kept_batch_plans FROM pg_backend_memory_contexts
 WHERE name = 'CachedPlanSource' AND ident LIKE 'WITH b AS (SELECT %t171%';
SET ROLE r171_alice;
SELECT steward.migration_rollback('m171b');
DROP TABLE t171;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM r171_alice;
SELECT format('REVOKE CREATE ON DATABASE %I FROM r171_alice', current_database()) \gexec
DROP ROLE r171_alice;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('m171', 'm171b');
\i test/sql/drop_migration_records.sql
