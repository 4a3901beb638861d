-- A backfill's passes after the first start where a batch may have left
-- rows behind, not from the first key: a pass that filled every key range
-- whole (the range form) is followed by a pass over the table's tail only
-- (it read the whole primary key twice more: the range form's end query
-- and the skip-locked form's, each over every index entry, a tenth of a
-- backfill's CPU).  Rows other transactions hold are still picked up.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE r148 (id int PRIMARY KEY, a int) WITH (autovacuum_enabled = off);
INSERT INTO r148 SELECT g, g FROM generate_series(1, 4000) g;
VACUUM r148;
SELECT steward.migration_start('m148', $$[
  {"add_column": {"table": "r148", "column": "a2", "type": "int", "up": "a * 2"}}]$$);
SELECT pg_stat_force_next_flush();
SELECT idx_tup_read AS before FROM pg_stat_user_indexes WHERE indexrelid = 'r148_pkey'::regclass \gset
CALL steward.migration_backfill('m148', 500);
SELECT pg_stat_force_next_flush();
-- Each row's key is read about twice (the batch's end query, its
-- UPDATE), not four times.
SELECT idx_tup_read - :before < 2.5 * 4000 AS pk_read_about_twice,
       (SELECT count(*) FROM r148 WHERE a2 IS DISTINCT FROM a * 2) AS wrong,
       (SELECT phase FROM steward.migrations WHERE name = 'm148') AS phase
  FROM pg_stat_user_indexes WHERE indexrelid = 'r148_pkey'::regclass;
SELECT steward.migration_rollback('m148');

-- Rows held by another transaction (a prepared one) are skipped, and
-- picked up by a later backfill once they are free.
SELECT steward.migration_start('m148b', $$[
  {"add_column": {"table": "r148", "column": "a3", "type": "int", "up": "a * 3"}}]$$);
BEGIN;
SELECT id FROM r148 WHERE id IN (1200, 3990) ORDER BY id FOR UPDATE;
PREPARE TRANSACTION 'r148';
SET steward.batch_lock_timeout = '10ms';
CALL steward.migration_backfill('m148b', 500);
SELECT id FROM r148 WHERE a3 IS NULL ORDER BY id;
SELECT phase, backfill_status FROM steward.migrations WHERE name = 'm148b';
COMMIT PREPARED 'r148';
CALL steward.migration_backfill('m148b', 500);
SELECT count(*) FILTER (WHERE a3 IS DISTINCT FROM a * 3) AS wrong FROM r148;
SELECT phase, backfill_status FROM steward.migrations WHERE name = 'm148b';
SELECT steward.migration_rollback('m148b');
RESET steward.batch_lock_timeout;
DROP TABLE r148;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('m148', 'm148b');
\i test/sql/drop_migration_records.sql
