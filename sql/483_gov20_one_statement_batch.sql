-- A backfill batch of the range form is one statement (gov20, issue 18):
-- the key of the batch_size-th unfilled row after the checkpoint, the
-- UPDATE of the unfilled rows up to it, their count and that key, where
-- the key was found by a statement of its own before the UPDATE.  The job
-- carries it (fill_first, fill_next); a batch writes exactly the
-- batch_size unfilled rows after the checkpoint in key order, passing over
-- rows already filled, on a two-column key (text, integer) too; with fewer
-- rows left than batch_size the skip-locked form takes them (whole false).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE r483 (g text, n int, a int, PRIMARY KEY (g, n));
INSERT INTO r483 SELECT chr(97 + i / 10), i % 10, i FROM generate_series(0, 29) i;
SELECT steward.migration_start('m483', $$[
  {"add_column": {"table": "r483", "column": "a2", "type": "int", "up": "a * 2"}}]$$);
-- Rows written meanwhile carry the marker: the batches pass over them.
UPDATE r483 SET a = a WHERE n IN (1, 2);

CREATE TEMP TABLE j483 AS SELECT steward._migration_backfill_job('m483', 'r483') AS job;
SELECT job ? 'fill_first' AS fill_first, job ? 'fill_next' AS fill_next,
       (SELECT count(*) FROM regexp_matches(job->>'fill_next', 'UPDATE', 'g')) AS updates
  FROM j483;

CREATE FUNCTION pg_temp.batch(after text[], size integer)
RETURNS TABLE (moved bigint, next_key text[], whole boolean, filled bigint, wrong bigint)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT b.moved, b.next_key, b.whole INTO moved, next_key, whole
      FROM j483, steward._migration_batch(job, after, size, 0) b;
    SELECT count(*), count(*) FILTER (WHERE a2 IS DISTINCT FROM a * 2)
      INTO filled, wrong
      FROM r483 WHERE _steward_side IS NOT NULL;
    RETURN NEXT;
END
$$;
-- 6 written by the UPDATE; the first batch: (a,0), (a,3) ... (a,9), the
-- 8 unfilled rows of "a", its key the 8th.
SELECT * FROM pg_temp.batch(NULL, 8);
SELECT * FROM pg_temp.batch('{a,9}', 8);
-- 8 left, fewer than 10: the skip-locked form writes them (whole false).
SELECT * FROM pg_temp.batch('{b,9}', 10);
-- None left after (c,9): the skip-locked form finds none.
SELECT * FROM pg_temp.batch('{c,9}', 8);

-- The whole backfill, in batches of 5: every row filled with up(a).
SELECT steward.migration_rollback('m483');
SELECT steward.migration_start('m483b', $$[
  {"add_column": {"table": "r483", "column": "a2", "type": "int", "up": "a * 2"}}]$$);
CALL steward.migration_backfill('m483b', 5);
SELECT count(*) AS rows, count(*) FILTER (WHERE a2 = a * 2) AS right_value FROM r483;
SELECT rows_backfilled, rows_total, phase FROM steward.migrations WHERE name = 'm483b';
SELECT steward.migration_rollback('m483b');
DROP TABLE r483;
CREATE TEMP TABLE gone (name) AS VALUES ('m483'), ('m483b');
\i test/sql/drop_migration_records.sql
