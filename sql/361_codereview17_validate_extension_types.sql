-- codereview17 C2: migration_validate compared a derived column of a type
-- with an equality (mig14 M1) with "IS DISTINCT FROM", which looks "="
-- up on the validation's search_path, pg_catalog, pg_temp: for an
-- extension's type (cube here; hstore, PostGIS's geometry, pgvector's
-- vector alike) no "=" is found there, so validation failed with 42883
-- "operator does not exist: public.cube = public.cube" and such a
-- migration could never complete.  Now the type's equality is named with
-- its schema (steward._migration_type_equality), the one the dual-write
-- trigger compares by; a row that differs, or is NULL on one side only,
-- is still found.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
CREATE EXTENSION IF NOT EXISTS cube;
RESET client_min_messages;
SET steward.governor = off;

SELECT steward._migration_type_equality('public.cube') AS cube_eq,
       steward._migration_type_equality('integer') AS int_eq,
       steward._migration_type_equality('json') AS json_eq;

CREATE TABLE c361 (id bigint PRIMARY KEY, c cube) USING steward;
INSERT INTO c361 SELECT g, cube(g, g + 1) FROM generate_series(1, 5) g;
INSERT INTO c361 VALUES (6, NULL);
SELECT steward.migration_start('c361', $$[
  {"add_column": {"table": "c361", "column": "c2", "type": "cube", "up": "c"}}]$$);
INSERT INTO c361 (id, c) VALUES (100, cube(7));
CALL steward.migration_backfill('c361');
SELECT "check", passed, detail FROM steward.migration_validate('c361') ORDER BY "check";

-- A derived value written behind the trigger's back is still found: one
-- that differs, one that is NULL where up is not.
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
ALTER TABLE c361 DISABLE TRIGGER zz_steward_migration;
UPDATE c361 SET c2 = cube(99) WHERE id = 2;
UPDATE c361 SET c2 = NULL WHERE id = 3;
ALTER TABLE c361 ENABLE ALWAYS TRIGGER zz_steward_migration;
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
SELECT "check", passed, CASE WHEN "check" LIKE 'values%' THEN detail END AS detail
  FROM steward.migration_validate('c361') ORDER BY "check";
UPDATE c361 SET c = c WHERE id IN (2, 3);
SELECT "check", passed FROM steward.migration_validate('c361') ORDER BY "check";
SELECT steward.migration_complete('c361');
SELECT id, c2 FROM c361 ORDER BY id;
SELECT steward.migration_cleanup('c361');

DROP TABLE c361;
DROP EXTENSION cube;

-- codereview17 C3: an "up" reading a value of the session rather than of
-- the row (pg_backend_pid(), inet_client_addr(), pg_trigger_depth(),
-- SESSION_USER) passed start, though the dual-write trigger evaluates it
-- in each writer's session, inside a trigger, and validation in its own:
-- every row another session wrote differed, after the whole backfill
-- (mig14 M3 refused the time's and the VOLATILE functions only).  Now
-- refused at start (22023), as those are; current_user, pinned to the
-- table's owner, is not.
CREATE TABLE s361 (id bigint PRIMARY KEY, v int) USING steward;
SELECT steward.migration_start('s361_pid', $$[
  {"add_column": {"table": "s361", "column": "w", "type": "int", "up": "pg_backend_pid()"}}]$$);
SELECT steward.migration_start('s361_addr', $$[
  {"add_column": {"table": "s361", "column": "w", "type": "text", "up": "coalesce(host(inet_client_addr()), v::text)"}}]$$);
SELECT steward.migration_start('s361_depth', $$[
  {"add_column": {"table": "s361", "column": "w", "type": "int", "up": "v + pg_trigger_depth()"}}]$$);
SELECT steward.migration_start('s361_session', $$[
  {"add_column": {"table": "s361", "column": "w", "type": "text", "up": "session_user"}}]$$);
SELECT count(*) AS started FROM steward.migrations WHERE name LIKE 's361%';
SELECT steward.migration_start('s361_user', $$[
  {"add_column": {"table": "s361", "column": "w", "type": "text", "up": "current_user"}}]$$);
SELECT steward.migration_rollback('s361_user');
DROP TABLE s361;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('c361'), ('s361_user');
\i test/sql/drop_migration_records.sql
