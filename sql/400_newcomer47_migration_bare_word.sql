-- newcomer47: a text constant written without SQL quotes inside an
-- add_column's JSON "default" ("default": "toolong") is parsed as a column
-- name, and was refused with 42P10 "may not use column" and a HINT sending
-- the user to "up" only.  Now, when the whole default is that one word, the
-- HINT also gives it quoted ("'toolong'", as typed: "EUR" stays EUR); a
-- default naming a column among others ("qty + 1") and an up naming a
-- column it may not use (which may be one of the other shape) read as
-- before.  Nothing starts.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE n47_items (id bigint PRIMARY KEY, price numeric, qty int) USING steward;
INSERT INTO n47_items VALUES (1, 2, 3);
SELECT steward.migration_start('n47_a', $$[
  {"add_column": {"table": "n47_items", "column": "cur", "type": "varchar(3)", "default": " toolong "}}]$$);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_start('n47_b', $$[
  {"add_column": {"table": "n47_items", "column": "cur", "type": "varchar(3)", "default": "EUR"}}]$$);
\echo :LAST_ERROR_SQLSTATE
-- Not a bare word, or an up: as before.
SELECT steward.migration_start('n47_b', $$[
  {"add_column": {"table": "n47_items", "column": "cur", "type": "varchar(3)", "up": "EUR"}}]$$);
SELECT steward.migration_start('n47_c', $$[
  {"add_column": {"table": "n47_items", "column": "cur", "type": "int", "default": "qty + 1"}}]$$);
SELECT steward.migration_start('n47_d', $$[
  {"add_column": {"table": "n47_items", "column": "cur", "type": "int", "up": "missing + 1"}}]$$);
-- Quoted as the HINT says: it starts.
SELECT steward.migration_start('n47_e', $$[
  {"add_column": {"table": "n47_items", "column": "cur", "type": "varchar(3)", "default": "'EUR'"}}]$$);
SELECT steward.migration_rollback('n47_e');
SELECT name, result FROM steward.migrations WHERE name LIKE 'n47\_%' ORDER BY name;

DROP TABLE n47_items;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('n47_e');
\i test/sql/drop_migration_records.sql
