-- The dual-write trigger's check of its pinned settings (closing38 item
-- 6): a boolean, integer or enum setting is compared as its number, read
-- once from the pin's constant, a string as text.  Each kind, set alone
-- to another value in the writer's session, still gets the pinned value:
-- a pure up (no GUC nest level when the settings are at their pinned
-- values) must see that one setting differs, and an up that is not pure
-- must pin it.  Written at the pinned values, the same values.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

-- Pure: float8out (extra_float_digits: integer), byteaout (bytea_output:
-- enum), quote_ident (quote_all_identifiers: boolean).
CREATE TABLE t207p (id int PRIMARY KEY, f float8, b bytea, s text) WITH (autovacuum_enabled = off);
SELECT steward.migration_start('m207p', $$[
  {"add_column": {"table": "t207p", "column": "f3", "type": "text", "up": "(f * 3)::text"}},
  {"add_column": {"table": "t207p", "column": "bt", "type": "text", "up": "(b || '\\x01'::bytea)::text"}},
  {"add_column": {"table": "t207p", "column": "q", "type": "text", "up": "quote_ident(s)"}}]$$) IS NOT NULL AS started;
-- Not pure: interval_out (IntervalStyle: enum), array_in (array_nulls:
-- boolean), to_char of a timestamptz (TimeZone, DateStyle: strings).
CREATE TABLE t207n (id int PRIMARY KEY, iv interval, s text, ts timestamptz) WITH (autovacuum_enabled = off);
SELECT steward.migration_start('m207n', $$[
  {"add_column": {"table": "t207n", "column": "ivt", "type": "text", "up": "(iv * 2)::text"}},
  {"add_column": {"table": "t207n", "column": "arr", "type": "text", "up": "(('{NULL,' || s || '}')::text[])::text"}},
  {"add_column": {"table": "t207n", "column": "tst", "type": "text", "up": "ts::text"}}]$$) IS NOT NULL AS started;

CREATE FUNCTION w207(i int) RETURNS void LANGUAGE sql AS $$
  INSERT INTO t207p VALUES (i, 0.1, '\x02', 'abc');
  INSERT INTO t207n VALUES (i, interval '1 day 2 hours', 'abc', timestamptz '2026-01-02 03:04:05+00');
$$;

SELECT w207(1);				-- the session's defaults
BEGIN; SET LOCAL extra_float_digits = 0; SELECT w207(2); COMMIT;
BEGIN; SET LOCAL extra_float_digits = 3; SELECT w207(3); COMMIT;
BEGIN; SET LOCAL bytea_output = 'escape'; SELECT w207(4); COMMIT;
BEGIN; SET LOCAL quote_all_identifiers = on; SELECT w207(5); COMMIT;
BEGIN; SET LOCAL IntervalStyle = 'sql_standard'; SELECT w207(6); COMMIT;
BEGIN; SET LOCAL IntervalStyle = 'iso_8601'; SELECT w207(7); COMMIT;
BEGIN; SET LOCAL array_nulls = off; SELECT w207(8); COMMIT;
BEGIN; SET LOCAL TimeZone = 'Pacific/Kiritimati'; SELECT w207(9); COMMIT;
BEGIN; SET LOCAL DateStyle = 'SQL, DMY'; SELECT w207(10); COMMIT;
-- All of them at once, then back at the pinned values.
BEGIN;
SET LOCAL extra_float_digits = 0; SET LOCAL bytea_output = 'escape';
SET LOCAL quote_all_identifiers = on; SET LOCAL IntervalStyle = 'postgres_verbose';
SET LOCAL array_nulls = off; SET LOCAL TimeZone = 'America/Anchorage';
SELECT w207(11);
COMMIT;
BEGIN;
SET LOCAL extra_float_digits = 1; SET LOCAL bytea_output = 'hex';
SET LOCAL quote_all_identifiers = off; SET LOCAL IntervalStyle = 'postgres';
SET LOCAL array_nulls = on; SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, MDY';
SELECT w207(12);
COMMIT;

-- One value per column, the pinned one, whatever the writer's settings.
SELECT count(*) AS rows, count(DISTINCT f3) AS f3s, min(f3) AS f3,
       count(DISTINCT bt) AS bts, min(bt) AS bt,
       count(DISTINCT q) AS qs, min(q) AS q
  FROM t207p;
SELECT count(*) AS rows, count(DISTINCT ivt) AS ivts, min(ivt) AS ivt,
       count(DISTINCT arr) AS arrs, min(arr) AS arr,
       count(DISTINCT tst) AS tsts, min(tst) AS tst
  FROM t207n;
-- The session's own settings are back after each write.
BEGIN;
SET LOCAL extra_float_digits = 0; SET LOCAL quote_all_identifiers = on;
SET LOCAL IntervalStyle = 'sql_standard';
SELECT w207(13);
SELECT current_setting('extra_float_digits') AS efd, current_setting('quote_all_identifiers') AS qai,
       current_setting('IntervalStyle') AS ivs, current_setting('search_path') AS path,
       current_setting('row_security') AS rls;
COMMIT;

SELECT steward.migration_rollback('m207p');
SELECT steward.migration_rollback('m207n');
DROP FUNCTION w207(int);
DROP TABLE t207p, t207n;

-- 2. A row a backfill batch's up inserts into its own table (its
-- function writes the table) gets both shapes and the marker: the batch
-- statement itself skips the dual-write trigger, a statement it runs in
-- turn does not (old code: both skipped it, the 100 inserted rows stayed
-- unfilled, and the run ended backfilled without counting them, since its
-- batches had filled as many rows as were left at begin: codereview8 L5).
CREATE TABLE t207b (id int PRIMARY KEY, a int) WITH (autovacuum_enabled = off);
INSERT INTO t207b SELECT g, g FROM generate_series(1001, 1100) g;
CREATE FUNCTION f207b(i int, a int) RETURNS int LANGUAGE sql AS $$
  INSERT INTO public.t207b (id, a) SELECT i - 1000, a WHERE i > 1000 ON CONFLICT DO NOTHING;
  SELECT a * 2 $$;
-- upvol49: a function declared VOLATILE (CREATE FUNCTION's default; one
-- that writes must be) is refused in an up at start; one declared STABLE
-- is accepted on its word, and may still call it: the defence below
-- holds for that.
SELECT steward.migration_start('m207v', $$[
  {"add_column": {"table": "t207b", "column": "a2", "type": "int", "up": "public.f207b(id, a)"}}]$$) IS NOT NULL AS started;
CREATE FUNCTION f207b_s(i int, a int) RETURNS int LANGUAGE plpgsql STABLE AS 'BEGIN RETURN public.f207b(i, a); END';
SELECT steward.migration_start('m207b', $$[
  {"add_column": {"table": "t207b", "column": "a2", "type": "int", "up": "public.f207b_s(id, a)"}}]$$) IS NOT NULL AS started;
CALL steward.migration_backfill('m207b', 10);
SELECT phase, backfill_status FROM steward.migrations WHERE name = 'm207b';
SELECT count(*) AS rows, count(*) FILTER (WHERE _steward_side IS NULL) AS unfilled,
       count(*) FILTER (WHERE a2 = a * 2) AS derived
  FROM t207b;
SELECT "check", passed FROM steward.migration_validate('m207b') WHERE "check" LIKE 'backfill%';
SELECT steward.migration_rollback('m207b');
DROP TABLE t207b;
DROP FUNCTION f207b_s(int, int), f207b(int, int);

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m207p'), ('m207n'), ('m207b');
\i test/sql/drop_migration_records.sql
