-- A statement a column backfill's batch runs in turn (an up whose
-- function writes its own table) meets the access method's rules, as
-- the same statement does from an application write (codereview9 M3):
-- only the batch statement's own rows keep their version, state and
-- sequence.  Old code: every write of the backend to the table while a
-- batch ran skipped the rules (steward_migration_backfilling), so the
-- backfill made a transition the machine forbids without a version bump,
-- and lowered a sequence.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
\set VERBOSITY terse

-- 1. codereview9's input: the up moves row 1000 from b (final) back to a.
CREATE TABLE t213 (id int PRIMARY KEY, a int, st text, version bigint) USING steward;
SELECT steward.create_state_machine('m213', ARRAY['a','b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.attach_state_machine('t213', 'st', 'm213');
SELECT steward.track_versions('t213', 'version');
INSERT INTO t213 (id, a, st) SELECT g, g, 'a' FROM generate_series(1, 100) g;
INSERT INTO t213 (id, a, st) VALUES (1000, 0, 'a');
UPDATE t213 SET st = 'b' WHERE id = 1000;
UPDATE t213 SET st = 'a' WHERE id = 1000;
CREATE FUNCTION f213(i int, a int) RETURNS int LANGUAGE sql AS $$
  UPDATE public.t213 SET st = 'a' WHERE id = 1000 AND i = 50; SELECT a * 2 $$;
-- upvol49: a function declared VOLATILE (CREATE FUNCTION's default; one
-- that writes must be) is refused in an up at start; one declared STABLE
-- is accepted on its word, and may still call it: the defence below
-- holds for that.
SELECT steward.migration_start('m213v', $$[
  {"add_column": {"table": "t213", "column": "a2", "type": "int", "up": "public.f213(id, a)"}}]$$) IS NOT NULL AS started;
CREATE FUNCTION f213_s(i int, a int) RETURNS int LANGUAGE plpgsql STABLE AS 'BEGIN RETURN public.f213(i, a); END';
SELECT steward.migration_start('m213', $$[
  {"add_column": {"table": "t213", "column": "a2", "type": "int", "up": "public.f213_s(id, a)"}}]$$) IS NOT NULL AS started;
-- An application's write meets the rule through the up.
UPDATE t213 SET a = 50 WHERE id = 50;
-- So does the backfill (old code: it passed and row 1000 was a, version 2).
CALL steward.migration_backfill('m213', 10);
SELECT id, st, version FROM t213 WHERE id = 1000;
SELECT steward.migration_rollback('m213') IS NOT NULL AS rolled_back;

-- 2. A transition the machine allows, made by the up: the row's version
-- goes up, the rows the batch itself fills keep theirs (old code: row
-- 1001 stayed at version 1, so a client holding 1 overwrote it unchecked).
INSERT INTO t213 (id, a, st) VALUES (1001, 0, 'a');
CREATE OR REPLACE FUNCTION f213(i int, a int) RETURNS int LANGUAGE sql AS $$
  UPDATE public.t213 SET st = 'b' WHERE id = 1001 AND i = 50; SELECT a * 2 $$;
SELECT steward.migration_start('m213b', $$[
  {"add_column": {"table": "t213", "column": "a2", "type": "int", "up": "public.f213_s(id, a)"}}]$$) IS NOT NULL AS started;
CALL steward.migration_backfill('m213b', 10);
SELECT phase, backfill_status FROM steward.migrations WHERE name = 'm213b';
SELECT id, st, version FROM t213 WHERE id = 1001;
SELECT count(*) AS rows, count(*) FILTER (WHERE version = 1) AS version_1,
       count(*) FILTER (WHERE a2 = a * 2) AS derived
  FROM t213 WHERE id <= 100;
SELECT steward.migration_rollback('m213b') IS NOT NULL AS rolled_back;
DROP TABLE t213;
DROP FUNCTION f213_s(int, int), f213(int, int);

-- 3. A sequence the up lowers: refused 40001 as from an application
-- write (old code: the backfill lowered it from 5 to 1).
CREATE TABLE t213s (id int PRIMARY KEY, a int, seq bigint) USING steward;
SELECT steward.track_sequence('t213s', 'seq');
INSERT INTO t213s SELECT g, g, 1 FROM generate_series(1, 100) g;
INSERT INTO t213s VALUES (1000, 0, 5);
CREATE FUNCTION f213s(i int, a int) RETURNS int LANGUAGE sql AS $$
  UPDATE public.t213s SET seq = 1 WHERE id = 1000 AND i = 50; SELECT a * 2 $$;
CREATE FUNCTION f213s_s(i int, a int) RETURNS int LANGUAGE plpgsql STABLE AS 'BEGIN RETURN public.f213s(i, a); END';
SELECT steward.migration_start('m213s', $$[
  {"add_column": {"table": "t213s", "column": "a2", "type": "int", "up": "public.f213s_s(id, a)"}}]$$) IS NOT NULL AS started;
CALL steward.migration_backfill('m213s', 10);
SELECT id, seq FROM t213s WHERE id = 1000;
SELECT steward.migration_rollback('m213s') IS NOT NULL AS rolled_back;

DROP TABLE t213s;
DROP FUNCTION f213s_s(int, int), f213s(int, int);
SELECT steward.drop_state_machine('m213');
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('m213', 'm213b', 'm213s');
\i test/sql/drop_migration_records.sql
