-- A backfill's batch statements keep their plans (issue 18: parsing and
-- planning the two statements of each batch cost about 1 ms a batch).  A
-- plan is kept per statement text, table and role, under the settings it
-- was parsed with: it never runs as another role, and it is made again
-- when what it uses changes.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS r158_alice;
DROP ROLE IF EXISTS r158_bob;
RESET client_min_messages;
SET steward.governor = off;
CREATE ROLE r158_alice;
CREATE ROLE r158_bob;
GRANT CREATE ON SCHEMA public TO r158_alice, r158_bob;
SELECT format('GRANT CREATE ON DATABASE %I TO r158_alice, r158_bob', current_database()) \gexec
-- the backfills below pass over rows prepared transactions hold
SET steward.batch_lock_timeout = '10ms';

SET ROLE r158_alice;
-- f158 counts its calls; called with a constant it is folded when a
-- statement is planned: the sequence counts the plans made.
CREATE SEQUENCE s158;
CREATE FUNCTION f158(k int) RETURNS int LANGUAGE plpgsql IMMUTABLE
AS $$ BEGIN PERFORM nextval('public.s158'); RETURN k; END $$;
CREATE TABLE t158 (id int PRIMARY KEY, a int) WITH (autovacuum_enabled = off);
INSERT INTO t158 SELECT g, g FROM generate_series(1, 1000) g;
SELECT steward.migration_start('m158', $$[
  {"add_column": {"table": "t158", "column": "a2", "type": "int", "up": "a * f158(2)"}}]$$);
SELECT last_value AS before FROM s158 \gset
CALL steward.migration_backfill('m158', 50);
-- 20 batches, a plan for each kind of statement (was two a batch: 40 and more)
SELECT last_value - :before < 10 AS planned_once_per_statement,
       (SELECT count(*) FROM t158 WHERE a2 IS DISTINCT FROM a * 2) AS wrong,
       (SELECT phase FROM steward.migrations WHERE name = 'm158') AS phase
  FROM s158;
SELECT steward.migration_rollback('m158');

-- The same statements for another owner: planned again as that owner,
-- whose rights are checked (bob may not execute f158: 42501).
RESET ROLE;
REVOKE EXECUTE ON FUNCTION f158(int) FROM PUBLIC;
GRANT USAGE ON SEQUENCE s158 TO r158_bob;
ALTER TABLE t158 OWNER TO r158_bob;
SET ROLE r158_bob;
-- start evaluates up once, as bob (sql/193): refused
\set VERBOSITY sqlstate
SELECT steward.migration_start('m158b', $$[
  {"add_column": {"table": "t158", "column": "a2", "type": "int", "up": "a * f158(2)"}}]$$);
\set VERBOSITY default
RESET ROLE;
GRANT EXECUTE ON FUNCTION f158(int) TO r158_bob;
SET ROLE r158_bob;
SELECT steward.migration_start('m158b', $$[
  {"add_column": {"table": "t158", "column": "a2", "type": "int", "up": "a * f158(2)"}}]$$);
RESET ROLE;
REVOKE EXECUTE ON FUNCTION f158(int) FROM r158_bob;
SET ROLE r158_bob;
\set VERBOSITY sqlstate
CALL steward.migration_backfill('m158b', 50);
\set VERBOSITY default
RESET ROLE;
GRANT EXECUTE ON FUNCTION f158(int) TO r158_bob;
SET ROLE r158_bob;
CALL steward.migration_backfill('m158b', 50);
SELECT count(*) FILTER (WHERE a2 IS DISTINCT FROM a * 2) AS wrong,
       (SELECT phase FROM steward.migrations WHERE name = 'm158b') AS phase
  FROM t158;
SELECT steward.migration_rollback('m158b');

-- A right taken away between two backfills of a migration is seen: the
-- plans kept by the first (f158 folded into them) are dropped and the
-- second is refused (42501).
SELECT steward.migration_start('m158c', $$[
  {"add_column": {"table": "t158", "column": "a3", "type": "int", "up": "a * f158(3)"}}]$$);
RESET ROLE;
BEGIN;
SELECT id FROM t158 WHERE id = 990 FOR UPDATE;
PREPARE TRANSACTION 'r158';
SET ROLE r158_bob;
CALL steward.migration_backfill('m158c', 50);
RESET ROLE;
COMMIT PREPARED 'r158';
REVOKE EXECUTE ON FUNCTION f158(int) FROM r158_bob;
SET ROLE r158_bob;
\set VERBOSITY sqlstate
CALL steward.migration_backfill('m158c', 50);
\set VERBOSITY default
SELECT id FROM t158 WHERE a3 IS NULL;
SELECT steward.migration_rollback('m158c');

-- The caller's search_path does not reach a kept plan: bob's s158b.f158,
-- first in the path when the backfill runs, is not called.
RESET ROLE;
GRANT EXECUTE ON FUNCTION f158(int) TO r158_bob;
SET ROLE r158_bob;
CREATE SCHEMA s158b;
CREATE FUNCTION s158b.f158(k int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 100';
SELECT steward.migration_start('m158d', $$[
  {"add_column": {"table": "t158", "column": "a5", "type": "int", "up": "a * f158(5)"}}]$$);
SET search_path = s158b, public;
CALL steward.migration_backfill('m158d', 50);
RESET search_path;
SELECT count(*) FILTER (WHERE a5 IS DISTINCT FROM a * 5) AS wrong FROM t158;
SELECT steward.migration_rollback('m158d');
RESET ROLE;

DROP TABLE t158;
DROP SCHEMA s158b CASCADE;
DROP FUNCTION f158(int);
DROP SEQUENCE s158;
REVOKE CREATE ON SCHEMA public FROM r158_alice, r158_bob;
SELECT format('REVOKE CREATE ON DATABASE %I FROM r158_alice, r158_bob', current_database()) \gexec
RESET steward.batch_lock_timeout;
DROP ROLE r158_alice;
DROP ROLE r158_bob;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('m158', 'm158b', 'm158c', 'm158d');
\i test/sql/drop_migration_records.sql
