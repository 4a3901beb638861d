-- mig16 (closing45 Noticed 3): start evaluated an add_column's "default"
-- once (9cce5a1, 5fc3760) but not coerced to the column's type as an
-- INSERT coerces it: "'toolong'" for a varchar(3) passed start, and then
-- every INSERT of the old application leaving the column out, and the
-- backfill, failed with 22001.  Now start evaluates it by the assignment
-- rules, as the table's default is evaluated, and refuses it with its
-- SQLSTATE, a DETAIL and a HINT, as it refuses "1/0".  What assignment
-- accepts still passes (1.5 into an int, trailing blanks into varchar).
\set SHOW_CONTEXT never
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE m16d (id int PRIMARY KEY, amt int) USING steward;
INSERT INTO m16d SELECT g, g FROM generate_series(1, 5) g;
CREATE DOMAIN m16d_pos AS int CHECK (VALUE > 0);

SELECT steward.migration_start('m16d_v', $$[
  {"add_column": {"table": "m16d", "column": "c", "type": "varchar(3)", "default": "'toolong'"}}]$$);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_start('m16d_t', $$[
  {"add_column": {"table": "m16d", "column": "c", "type": "varchar(3)", "default": "upper('toolong')"}}]$$);
SELECT steward.migration_start('m16d_c', $$[
  {"add_column": {"table": "m16d", "column": "c", "type": "char(2)", "default": "'abc'"}}]$$);
SELECT steward.migration_start('m16d_b', $$[
  {"add_column": {"table": "m16d", "column": "c", "type": "bit(3)", "default": "B'10101'"}}]$$);
SELECT steward.migration_start('m16d_n', $$[
  {"add_column": {"table": "m16d", "column": "c", "type": "numeric(3,1)", "default": "1000"}}]$$);
-- Refused before anything changed: no column, no migration.
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'm16d'::regclass AND attnum > 0 AND NOT attisdropped;
SELECT count(*) AS migrations FROM steward.migration_runs WHERE name LIKE 'm16d\_%';
-- On an empty table too, as ADD COLUMN ... DEFAULT would refuse it; a
-- domain's CHECK there (on a table holding rows start refuses a domain
-- with constraints before, 0A000: mig17, regress 382).
CREATE TABLE m16d_empty (id int PRIMARY KEY) USING steward;
SELECT steward.migration_start('m16d_d', $$[
  {"add_column": {"table": "m16d_empty", "column": "c", "type": "m16d_pos", "default": "0"}}]$$);
SELECT steward.migration_start('m16d_e', $$[
  {"add_column": {"table": "m16d_empty", "column": "c", "type": "varchar(3)", "default": "'toolong'"}}]$$);

-- What the assignment rules accept passes, with the value they give.
SELECT steward.migration_start('m16d_ok', $$[
  {"add_column": {"table": "m16d", "column": "c", "type": "varchar(3)", "default": "'ab    '"}},
  {"add_column": {"table": "m16d", "column": "i", "type": "int", "default": "1.5"}},
  {"add_column": {"table": "m16d", "column": "p", "type": "int", "check": "p > 0", "default": "3"}}]$$);
CALL steward.migration_backfill('m16d_ok');
SELECT id, c, length(c) AS len, i, p FROM m16d ORDER BY id LIMIT 2;
INSERT INTO m16d (id, amt) VALUES (6, 6) RETURNING id, c, i, p;
SELECT steward.migration_rollback('m16d_ok');
DROP TABLE m16d, m16d_empty;
DROP DOMAIN m16d_pos;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m16d_ok');
\i test/sql/drop_migration_records.sql
