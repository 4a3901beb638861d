-- A backfill's job ends once it has moved the rows that were left when it
-- began (issue 18): no row becomes unfilled again (every write sets the
-- marker; the relayout's apply trigger writes every row to both layouts),
-- so a re-run of a backfilled migration reads no batch (it read the whole
-- primary key twice: ~1 s of CPU per 300k rows), and a relayout's
-- backfill reads no last pass from the first key.  Rows other
-- transactions hold are still picked up by the passes after.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE r175 (id int PRIMARY KEY, a int) WITH (autovacuum_enabled = off);
INSERT INTO r175 SELECT g, g FROM generate_series(1, 4000) g;
VACUUM r175;

-- 1. A column migration: a second backfill after backfilled reads no key.
SELECT steward.migration_start('m175', $$[
  {"add_column": {"table": "r175", "column": "a2", "type": "int", "up": "a * 2"}}]$$);
CALL steward.migration_backfill('m175', 500);
SELECT phase FROM steward.migrations WHERE name = 'm175';
SELECT pg_stat_force_next_flush();
SELECT idx_tup_read AS before FROM pg_stat_user_indexes WHERE indexrelid = 'r175_pkey'::regclass \gset
CALL steward.migration_backfill('m175', 500);
SELECT pg_stat_force_next_flush();
SELECT idx_tup_read - :before AS pk_read_by_rerun,
       (SELECT count(*) FROM r175 WHERE a2 IS DISTINCT FROM a * 2) AS wrong,
       (SELECT phase FROM steward.migrations WHERE name = 'm175') AS phase,
       (SELECT rows_backfilled FROM steward.migrations WHERE name = 'm175') AS rows_backfilled
  FROM pg_stat_user_indexes WHERE indexrelid = 'r175_pkey'::regclass;
SELECT steward.migration_rollback('m175');
VACUUM r175;  -- no dead index entries for the reads counted below

-- 2. A relayout: the batches read each key once (the old code's last
-- pass from the first key read every key again), a re-run reads none;
-- what is left is the counts of missing rows before and after (an index
-- only scan of the key each).
SELECT steward.migration_start('m175r', $$[
  {"relayout": {"table": "r175", "partition_by": "HASH (id)", "partitions": 4}}]$$);
SELECT pg_stat_force_next_flush();
SELECT idx_tup_read AS before FROM pg_stat_user_indexes WHERE indexrelid = 'r175_pkey'::regclass \gset
CALL steward.migration_backfill('m175r', 500);
SELECT pg_stat_force_next_flush();
SELECT idx_tup_read - :before AS first_run FROM pg_stat_user_indexes WHERE indexrelid = 'r175_pkey'::regclass \gset
SELECT pg_stat_force_next_flush();
SELECT idx_tup_read AS before FROM pg_stat_user_indexes WHERE indexrelid = 'r175_pkey'::regclass \gset
CALL steward.migration_backfill('m175r', 500);
SELECT pg_stat_force_next_flush();
SELECT idx_tup_read - :before AS rerun FROM pg_stat_user_indexes WHERE indexrelid = 'r175_pkey'::regclass \gset
SELECT :first_run <= 3 * 4000 AS first_run_reads_keys_three_times,
       :rerun <= 2 * 4000 AS rerun_reads_keys_twice;
SELECT phase, rows_backfilled FROM steward.migrations WHERE name = 'm175r';
SELECT steward.migration_validate('m175r') IS NOT NULL AS validated;
SELECT steward.migration_rollback('m175r');

-- 3. Rows held by another transaction (a prepared one) are skipped, the
-- job goes on with passes from the first key, and a later backfill
-- copies them once they are free.
SELECT steward.migration_start('m175h', $$[
  {"relayout": {"table": "r175", "partition_by": "HASH (id)", "partitions": 4}}]$$);
BEGIN;
SELECT id FROM r175 WHERE id IN (1200, 3990) ORDER BY id FOR UPDATE;
PREPARE TRANSACTION 'r175';
SET client_min_messages = error;
CALL steward.migration_backfill('m175h', 500);
RESET client_min_messages;
SELECT phase, rows_backfilled FROM steward.migrations WHERE name = 'm175h';
COMMIT PREPARED 'r175';
CALL steward.migration_backfill('m175h', 500);
SELECT phase, rows_backfilled FROM steward.migrations WHERE name = 'm175h';
SELECT steward.migration_rollback('m175h');
DROP TABLE r175;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('m175', 'm175r', 'm175h');
\i test/sql/drop_migration_records.sql

-- 4. run_transition asks how many rows are left in the source state (one
-- count) before a pass from the first key: the old code's last pass read
-- every key twice more (its range form's end query, then the skip-locked
-- form) to find none.
SELECT steward.create_state_machine('m175', ARRAY['a', 'b'], ARRAY['a', 'b'], ARRAY['a->b', 'b->a']);
CREATE TABLE t175 (id int PRIMARY KEY, st text NOT NULL) USING steward WITH (autovacuum_enabled = off);
INSERT INTO t175 SELECT g, 'a' FROM generate_series(1, 4000) g;
SELECT steward.attach_state_machine('t175', 'st', 'm175');
VACUUM t175;
SELECT pg_stat_force_next_flush();
SELECT idx_tup_read AS before FROM pg_stat_user_indexes WHERE indexrelid = 't175_pkey'::regclass \gset
CALL steward.run_transition('t175', 'a', 'b', NULL, 500);
SELECT pg_stat_force_next_flush();
SELECT idx_tup_read - :before AS run FROM pg_stat_user_indexes WHERE indexrelid = 't175_pkey'::regclass \gset
SELECT :run <= 2.5 * 4000 AS reads_keys_about_twice,
       (SELECT count(*) FROM t175 WHERE st = 'b') AS moved,
       (SELECT status || ' ' || rows_done || ' ' || rows_remaining FROM steward.transition_progress
         WHERE relid = 't175'::regclass) AS progress;
DROP TABLE t175;
SELECT steward.drop_state_machine('m175');
