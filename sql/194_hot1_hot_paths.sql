-- Hot paths (closing37 item 6).
-- 1. The dual-write trigger pins default_text_search_config only for an
--    up / down that may read it (setting it costs a catalog lookup per
--    row): what such an expression stores is still computed under
--    pg_catalog.simple, whatever the writer's session says, as the
--    backfill computes it; an expression that cannot read it stores the
--    same either way.  A pure one (built-in immutable functions) runs
--    with no pin at all when the settings it may read are at their pinned
--    values (no GUC nest level per row).
-- 2. A backfill counts the rows left once when its batches filled as many
--    as were left at begin (a re-run of a backfilled migration scanned
--    each table twice, readme37 B1); a relayout's the same.
-- 3. run_transition takes the count of its last probe (none left) for its
--    'finished' progress instead of counting the table again; a probe
--    followed by a pass is not taken.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

-- 1. Text search in up, written from a session at english.
CREATE FUNCTION r194_words(t text) RETURNS tsvector LANGUAGE sql IMMUTABLE
  SET search_path = pg_catalog AS $$ SELECT to_tsvector(t) $$;
CREATE TABLE r194t (id int PRIMARY KEY, body text) WITH (autovacuum_enabled = off);
INSERT INTO r194t VALUES (1, 'running dogs');
SELECT steward.migration_start('m194t', $$[
  {"add_column": {"table": "r194t", "column": "tsv", "type": "tsvector", "up": "to_tsvector(body)"}},
  {"add_column": {"table": "r194t", "column": "tsv2", "type": "tsvector", "up": "r194_words(body)"}},
  {"add_column": {"table": "r194t", "column": "cfg", "type": "text", "up": "current_setting('default_text_search_config') || length(body)"}}]$$);
CREATE TABLE r194p (id int PRIMARY KEY, body text) WITH (autovacuum_enabled = off);
SELECT steward.migration_start('m194p', $$[
  {"add_column": {"table": "r194p", "column": "up_body", "type": "text", "up": "upper(body) || (id * 2)::text"}}]$$);
SET default_text_search_config = 'pg_catalog.english';
INSERT INTO r194t VALUES (2, 'running dogs');
INSERT INTO r194p VALUES (1, 'running dogs');
CALL steward.migration_backfill('m194t');
SELECT id, tsv, tsv2, cfg FROM r194t ORDER BY id;
SELECT id, up_body FROM r194p;
SELECT to_tsvector('running dogs') AS session_english;
SHOW default_text_search_config;
RESET default_text_search_config;
-- A pure up (built-in immutable functions only) runs without the pins
-- when the settings it reads are at their pinned values: the same value
-- as under them (extra_float_digits 1: the shortest exact output), and
-- with extra_float_digits 0 in the session it gets the pins.  An up
-- reading CURRENT_SCHEMA is not pure: pg_catalog, never the writer's
-- schema.
CREATE TABLE r194f (id int PRIMARY KEY, f float8) WITH (autovacuum_enabled = off);
SELECT steward.migration_start('m194f', $$[
  {"add_column": {"table": "r194f", "column": "f3", "type": "text", "up": "(f * 3)::text"}},
  {"add_column": {"table": "r194f", "column": "sch", "type": "text", "up": "CURRENT_SCHEMA || id"}}]$$);
CREATE TABLE r194g (id int PRIMARY KEY, f float8) WITH (autovacuum_enabled = off);
SELECT steward.migration_start('m194g', $$[
  {"add_column": {"table": "r194g", "column": "f3", "type": "text", "up": "(f * 3)::text"}}]$$);
INSERT INTO r194f VALUES (1, 0.1);
INSERT INTO r194g VALUES (1, 0.1);
SET extra_float_digits = 0;
INSERT INTO r194f VALUES (2, 0.1);
INSERT INTO r194g VALUES (2, 0.1);
SELECT (0.1::float8 * 3)::text AS session_value;
RESET extra_float_digits;
SELECT 'f' AS t, id, f3, sch FROM r194f UNION ALL SELECT 'g', id, f3, NULL FROM r194g ORDER BY 1, 2;
SELECT steward.migration_rollback('m194t');
SELECT steward.migration_rollback('m194p');
SELECT steward.migration_rollback('m194f');
SELECT steward.migration_rollback('m194g');
DROP TABLE r194t, r194p, r194f, r194g;
DROP FUNCTION r194_words(text);

-- 2. A column migration's backfill: the first run counts the unfilled
-- rows at begin only, a re-run once (the old code: twice each).
CREATE TABLE r194 (id int PRIMARY KEY, a int) WITH (autovacuum_enabled = off);
INSERT INTO r194 SELECT g, g FROM generate_series(1, 4000) g;
VACUUM r194;
SELECT steward.migration_start('m194', $$[
  {"add_column": {"table": "r194", "column": "a2", "type": "int", "up": "a * 2"}}]$$);
SELECT pg_stat_force_next_flush();
SELECT seq_scan AS s0, seq_tup_read AS t0 FROM pg_stat_user_tables WHERE relid = 'r194'::regclass \gset
CALL steward.migration_backfill('m194', 500);
SELECT pg_stat_force_next_flush();
SELECT seq_scan AS s1, seq_tup_read AS t1 FROM pg_stat_user_tables WHERE relid = 'r194'::regclass \gset
CALL steward.migration_backfill('m194', 500);
SELECT pg_stat_force_next_flush();
SELECT :s1 - :s0 AS first_run_scans, :t1 - :t0 AS first_run_read,
       seq_scan - :s1 AS rerun_scans, seq_tup_read - :t1 AS rerun_read,
       (SELECT phase FROM steward.migrations WHERE name = 'm194') AS phase,
       (SELECT count(*) FROM r194 WHERE a2 IS DISTINCT FROM a * 2) AS wrong
  FROM pg_stat_user_tables WHERE relid = 'r194'::regclass;
SELECT steward.migration_rollback('m194');
VACUUM r194;

-- A relayout: the rows the new layout lacks are counted once a run (an
-- index-only scan of the old layout's key).
SELECT steward.migration_start('m194r', $$[
  {"relayout": {"table": "r194", "partition_by": "HASH (id)", "partitions": 4}}]$$);
CALL steward.migration_backfill('m194r', 500);
SELECT pg_stat_force_next_flush();
SELECT idx_scan AS s1, idx_tup_read AS t1 FROM pg_stat_user_indexes WHERE indexrelid = 'r194_pkey'::regclass \gset
CALL steward.migration_backfill('m194r', 500);
SELECT pg_stat_force_next_flush();
SELECT idx_scan - :s1 AS rerun_scans, idx_tup_read - :t1 AS rerun_read,
       (SELECT phase FROM steward.migrations WHERE name = 'm194r') AS phase
  FROM pg_stat_user_indexes WHERE indexrelid = 'r194_pkey'::regclass;
SELECT steward.migration_rollback('m194r');
DROP TABLE r194;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('m194t', 'm194p', 'm194f', 'm194g', 'm194', 'm194r');
\i test/sql/drop_migration_records.sql

-- 3. run_transition: the count at prepare and the probe that finds none
-- left (the old code counted a third time for 'finished').
SELECT steward.create_state_machine('m194', ARRAY['a', 'b'], ARRAY['a', 'b'], ARRAY['a->b', 'b->a']);
CREATE TABLE t194 (id int PRIMARY KEY, st text NOT NULL) USING steward WITH (autovacuum_enabled = off);
INSERT INTO t194 SELECT g, 'a' FROM generate_series(1, 4000) g;
SELECT steward.attach_state_machine('t194', 'st', 'm194');
VACUUM t194;
SELECT pg_stat_force_next_flush();
SELECT seq_scan AS s0 FROM pg_stat_user_tables WHERE relid = 't194'::regclass \gset
CALL steward.run_transition('t194', 'a', 'b', NULL, 500);
SELECT pg_stat_force_next_flush();
SELECT seq_scan - :s0 AS counts,
       (SELECT count(*) FROM t194 WHERE st = 'b') AS moved,
       (SELECT status || ' ' || rows_done || ' ' || rows_remaining FROM steward.transition_progress
         WHERE relid = 't194'::regclass) AS progress
  FROM pg_stat_user_tables WHERE relid = 't194'::regclass;
-- A row held by another transaction: the probe finds it, the pass after
-- cannot move it, and 'finished' counts it (the probe's count is of an
-- earlier transaction).
UPDATE t194 SET st = 'a' WHERE id > 3000;
BEGIN;
SELECT id FROM t194 WHERE id = 3500 FOR UPDATE;
PREPARE TRANSACTION 't194';
CALL steward.run_transition('t194', 'a', 'b', NULL, 500);
SELECT status || ' ' || rows_done || ' ' || rows_remaining AS progress
  FROM steward.transition_progress WHERE relid = 't194'::regclass ORDER BY id DESC LIMIT 1;
COMMIT PREPARED 't194';
SELECT count(*) FILTER (WHERE st = 'a') AS left_in_a FROM t194;
DROP TABLE t194;
SELECT steward.drop_state_machine('m194');
