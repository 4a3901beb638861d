-- With steward.migration_backfill_interleave = n > 1 (default 1: off), a
-- column backfill writes each window of n batches in as many committed
-- stripes, each taking every n-th line pointer of the window's pages
-- (gov18, issue 18): on a table whose rows
-- lie in key order a key-ordered batch wrote every row of its pages in one
-- transaction, none of its dead versions prunable before it committed, so
-- nearly every row moved to another page (a new index entry, heap_update's
-- lock record, the whole tuple in WAL); the later stripes now prune what
-- the earlier ones left and update in place.  The checkpoint (last_key)
-- moves only with a window's last stripe: every row before it is filled,
-- whatever stripe a crash interrupts, and a re-run resumes from it.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
SHOW steward.migration_backfill_interleave;
SET steward.migration_backfill_interleave = 0;
SET steward.migration_backfill_interleave = 65;
SET steward.migration_backfill_interleave = 4;

CREATE TABLE r409 (id int PRIMARY KEY, a int) WITH (autovacuum_enabled = off);
INSERT INTO r409 SELECT g, g FROM generate_series(1, 2000) g;
VACUUM r409;
SELECT steward.migration_start('m409', $$[
  {"add_column": {"table": "r409", "column": "a2", "type": "int", "up": "a * 2"}}]$$);

-- 1. One window of 4 x 100 rows by hand.  Stripes 0 to 2 each write about
-- a quarter of the window's rows, none after its end, and leave the
-- checkpoint where it was (none yet); stripe 3, the range form over the
-- window, writes every row left in it and moves the checkpoint to its end.
CREATE TEMP TABLE j409 AS
SELECT steward._migration_backfill_job('m409', 'r409') || '{"interleave": 4}' AS job;
-- One batch, then what it left (the batch's own statement's snapshot
-- would not see its rows: plpgsql, a statement each).
CREATE FUNCTION pg_temp.stripe(j integer, after text[], upper text[])
RETURNS TABLE (moved bigint, next_key text[], whole boolean, checkpoint text[],
               filled bigint, highest_filled integer, wrong bigint)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT b.moved, b.next_key, b.whole INTO moved, next_key, whole
      FROM j409,
           steward._migration_batch(job || CASE WHEN j = 0 THEN '{}'::jsonb
                                               ELSE jsonb_build_object('stripe', j, 'upper', upper) END,
                                    after, 100, 0) b;
    SELECT t.last_key INTO checkpoint FROM steward.migration_tables t WHERE t.migration = 'm409';
    SELECT count(*), max(id), count(*) FILTER (WHERE a2 IS DISTINCT FROM a * 2)
      INTO filled, highest_filled, wrong
      FROM r409 WHERE _steward_side IS NOT NULL;
    RETURN NEXT;
END
$$;
SELECT moved BETWEEN 90 AND 110 AS about_a_quarter, next_key, whole, checkpoint, highest_filled <= 400 AS in_window, wrong
  FROM pg_temp.stripe(0, NULL, NULL);
SELECT moved BETWEEN 90 AND 110 AS about_a_quarter, next_key, whole, checkpoint, highest_filled <= 400 AS in_window, wrong
  FROM pg_temp.stripe(1, NULL, '{400}');
SELECT moved BETWEEN 90 AND 110 AS about_a_quarter, next_key, whole, checkpoint, highest_filled <= 400 AS in_window, wrong
  FROM pg_temp.stripe(2, NULL, '{400}');
SELECT moved BETWEEN 90 AND 110 AS about_a_quarter, next_key, whole, checkpoint, filled, highest_filled, wrong
  FROM pg_temp.stripe(3, NULL, '{400}');

-- 2. The next window's first stripe, then "a crash" (nothing more of the
-- window): the checkpoint stays at 400 with rows after it filled; the
-- next run resumes there, fills every row left once, and counts each row
-- once.
SELECT moved BETWEEN 90 AND 110 AS about_a_quarter, next_key, whole, checkpoint, filled BETWEEN 490 AND 510 AS filled_500,
       highest_filled <= 800 AS in_window, wrong
  FROM pg_temp.stripe(0, '{400}', NULL);
SELECT rows_backfilled BETWEEN 490 AND 510 AS counted_500 FROM steward.migrations WHERE name = 'm409';
CALL steward.migration_backfill('m409', 100);
SELECT phase, rows_backfilled, rows_total,
       (SELECT count(*) FROM r409 WHERE _steward_side IS NULL OR a2 IS DISTINCT FROM a * 2) AS wrong
  FROM steward.migrations WHERE name = 'm409';
SELECT "check", passed FROM steward.migration_validate('m409') ORDER BY 1;
SELECT steward.migration_rollback('m409');
DROP TABLE r409;

-- 3. What it saves: the same backfill of 20000 key-ordered rows (the
-- shape of regress 268's) in key order (1) and interleaved (4), the
-- table's growth and its HOT updates.
CREATE TABLE r409_1 (id bigint PRIMARY KEY, customer_id bigint NOT NULL,
                     total_amount numeric(12,2) NOT NULL) WITH (autovacuum_enabled = off);
INSERT INTO r409_1 SELECT g, g % 100, g / 100.0 FROM generate_series(1, 20000) g;
CREATE TABLE r409_4 (LIKE r409_1 INCLUDING ALL) WITH (autovacuum_enabled = off);
INSERT INTO r409_4 SELECT * FROM r409_1 ORDER BY id;
SELECT steward.migration_start('m409_1', $$[
  {"alter_column": {"table": "r409_1", "column": "total_amount", "name": "total_cents",
                    "type": "bigint", "up": "(total_amount * 100)::bigint", "down": "total_cents / 100.0"}}]$$);
SELECT steward.migration_start('m409_4', $$[
  {"alter_column": {"table": "r409_4", "column": "total_amount", "name": "total_cents",
                    "type": "bigint", "up": "(total_amount * 100)::bigint", "down": "total_cents / 100.0"}}]$$);
VACUUM r409_1, r409_4;
SELECT pg_relation_size('r409_1') / 8192 AS pages1, pg_relation_size('r409_4') / 8192 AS pages4 \gset
SET steward.migration_backfill_interleave = 1;
CALL steward.migration_backfill('m409_1', 500);
SET steward.migration_backfill_interleave = 4;
SELECT pg_stat_force_next_flush();
SELECT idx_tup_read AS before FROM pg_stat_user_indexes WHERE indexrelid = 'r409_4_pkey'::regclass \gset
CALL steward.migration_backfill('m409_4', 500);
RESET steward.migration_backfill_interleave;
SELECT pg_stat_force_next_flush();
-- What the stripes cost: each reads its window's keys (and their rows),
-- about 6 reads of each key in all against 2 in key order (regress 148).
SELECT idx_tup_read - :before BETWEEN 5 * 20000 AND 7 * 20000 AS pk_read_about_six_times
  FROM pg_stat_user_indexes WHERE indexrelid = 'r409_4_pkey'::regclass;
SELECT relname, n_tup_hot_upd * 100 / n_tup_upd < 10 AS key_order_under_10pct_hot,
       n_tup_hot_upd * 100 / n_tup_upd > 40 AS interleaved_over_40pct_hot
  FROM pg_stat_user_tables WHERE relname IN ('r409_1', 'r409_4') ORDER BY relname;
SELECT (pg_relation_size('r409_4') / 8192 - :pages4) * 10 < (pg_relation_size('r409_1') / 8192 - :pages1) * 7
         AS interleaved_grows_under_70pct,
       (SELECT string_agg(phase || ' ' || rows_backfilled, ', ' ORDER BY name) FROM steward.migrations
         WHERE name IN ('m409_1', 'm409_4')) AS phases;
SELECT steward.migration_rollback('m409_1');
SELECT steward.migration_rollback('m409_4');
DROP TABLE r409_1, r409_4;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('m409', 'm409_1', 'm409_4');
\i test/sql/drop_migration_records.sql
