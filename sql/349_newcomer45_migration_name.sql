-- newcomer45 N7: a column migration named "pg_..." failed only at its
-- CREATE SCHEMA (core's 42939 "unacceptable schema name", no next step),
-- after start had locked the table ACCESS EXCLUSIVE and added the
-- columns (rolled back with it).  It is refused now with the name
-- checks, before the tables are locked, naming the reason and the next
-- step; a relayout or index step,
-- which creates no schema, may still be named so.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE n45_names (id bigint PRIMARY KEY, v int) USING steward;
INSERT INTO n45_names SELECT g, g FROM generate_series(1, 4) g;

SELECT steward.migration_start('pg_add', $$[
  {"add_column": {"table": "n45_names", "column": "w", "type": "int"}}]$$);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_start('pg_rename', $$[
  {"rename_table": {"table": "n45_names", "name": "n45_names2"}}]$$);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS migrations FROM steward.migrations WHERE name LIKE 'pg%';
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'n45_names'::regclass AND attnum > 0;

-- A relayout creates no schema: its name may start with pg_.
SELECT steward.migration_start('pg_relayout', $$[
  {"relayout": {"table": "n45_names", "partition_by": "HASH (id)", "partitions": 2}}]$$);
SELECT steward.migration_rollback('pg_relayout');

DROP TABLE n45_names;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('pg_relayout');
\i test/sql/drop_migration_records.sql
