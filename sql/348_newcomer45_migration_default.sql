-- newcomer45 N1, N2 (N5 below): an add_column's "default" without "up" fills the
-- stored rows and is the table's default for the old application's
-- INSERTs.  A default that always fails ("1/0") passed migration_start,
-- after which every old-shape INSERT failed (22012) until a rollback;
-- ALTER TABLE ... ADD COLUMN ... DEFAULT 1/0 refuses it at once.  Start
-- now evaluates an add_column's default once (with or without "up"), on
-- an empty table too, and refuses with its SQLSTATE before anything
-- changes.  A default naming a column got 42703
-- with "DETAIL: It may use: ." (an empty list); now 42P10, as core's
-- DEFAULT, with a HINT naming "up".
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE n45_full (id bigint PRIMARY KEY, v int) USING steward;
INSERT INTO n45_full SELECT g, g FROM generate_series(1, 10) g;
CREATE TABLE n45_empty (id bigint PRIMARY KEY, v int) USING steward;

-- N1: refused on a table with rows and on an empty one; nothing is left.
SELECT steward.migration_start('n45_a', $$[
  {"add_column": {"table": "n45_full", "column": "w", "type": "int", "default": "1/0"}}]$$);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_start('n45_b', $$[
  {"add_column": {"table": "n45_empty", "column": "w", "type": "int", "default": "1/0"}}]$$);
\echo :LAST_ERROR_SQLSTATE
-- With "up" too: the default is still the table's, for old-shape INSERTs.
SELECT steward.migration_start('n45_e', $$[
  {"add_column": {"table": "n45_full", "column": "w", "type": "int", "up": "v", "default": "1/0"}}]$$);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS migrations FROM steward.migrations WHERE name IN ('n45_a', 'n45_b', 'n45_e');
SELECT attrelid::regclass, attname FROM pg_attribute
 WHERE attrelid IN ('n45_full'::regclass, 'n45_empty'::regclass) AND attnum > 0 AND NOT attisdropped
 ORDER BY 1, attnum;
INSERT INTO n45_full (id, v) VALUES (11, 11);          -- the old application writes on
INSERT INTO n45_empty (id, v) VALUES (1, 1);

-- N2: a default may use no column.
SELECT steward.migration_start('n45_c', $$[
  {"add_column": {"table": "n45_full", "column": "w", "type": "int", "default": "v + 1"}}]$$);
\echo :LAST_ERROR_SQLSTATE

-- A default that works is still taken, and still fills the stored rows.
SELECT steward.migration_start('n45_d', $$[
  {"add_column": {"table": "n45_full", "column": "w", "type": "int", "default": "7", "not_null": true}}]$$);
INSERT INTO n45_full (id, v) VALUES (12, 12);
CALL steward.migration_backfill('n45_d');
SELECT count(*) AS n, count(*) FILTER (WHERE w = 7) AS sevens FROM n45_full;
SELECT steward.migration_rollback('n45_d');

DROP TABLE n45_full, n45_empty;

-- N5: NOT NULL, no "up", and a default that is NULL: every stored row and
-- every old-shape INSERT would get NULL (the backfill failed at the first
-- row with a HINT about "up", each INSERT with 23514).  Refused at start
-- as NOT NULL with neither "up" nor "default" is (22023), on an empty
-- table too; with "up" the default may be NULL (the trigger fills the
-- column from "up").
CREATE TABLE n45_nn (id bigint PRIMARY KEY, v int) USING steward;
INSERT INTO n45_nn SELECT g, g FROM generate_series(1, 3) g;
SELECT steward.migration_start('n45_f', $$[
  {"add_column": {"table": "n45_nn", "column": "w", "type": "int", "default": "NULL", "not_null": true}}]$$);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE n45_empty2 (id bigint PRIMARY KEY, v int) USING steward;
SELECT steward.migration_start('n45_g', $$[
  {"add_column": {"table": "n45_empty2", "column": "w", "type": "int", "default": "nullif(1, 1)", "not_null": true}}]$$);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS migrations FROM steward.migrations WHERE name IN ('n45_f', 'n45_g');
SELECT steward.migration_start('n45_h', $$[
  {"add_column": {"table": "n45_nn", "column": "w", "type": "int", "up": "v * 2", "default": "NULL", "not_null": true}}]$$);
INSERT INTO n45_nn (id, v) VALUES (4, 4);
CALL steward.migration_backfill('n45_h');
SELECT id, w FROM n45_nn ORDER BY id;
SELECT steward.migration_rollback('n45_h');
DROP TABLE n45_nn, n45_empty2;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('n45_d'), ('n45_h');
\i test/sql/drop_migration_records.sql
