-- mig16 (closing45 Noticed 3): a migration whose only new columns read
-- their values already (an add_column's immutable "default", PostgreSQL's
-- missing value since 0abbeba, or no default at all), or that only drops
-- or renames columns, still had its backfill rewrite every row of the
-- table to set the marker (_steward_side): 100k rows, 27 MB of WAL.  Now
-- start adds the marker with the missing value 'o' for such a table, so
-- its stored rows count as filled at once and the backfill writes none.
-- Every other migration is filled row by row as before.
\set SHOW_CONTEXT never
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE m16f (id int PRIMARY KEY, amt numeric, note text) USING steward;
INSERT INTO m16f SELECT g, g, 'n' || g FROM generate_series(1, 1000) g;
CREATE TEMP TABLE m16f_before AS
  SELECT pg_relation_filenode('m16f') AS node, (SELECT array_agg(ctid ORDER BY id) FROM m16f) AS ctids;

-- A constant default and a column with none: nothing to fill.
SELECT steward.migration_start('m16f_fast', $$[
  {"add_column": {"table": "m16f", "column": "lvl", "type": "int", "default": "7", "not_null": true}},
  {"add_column": {"table": "m16f", "column": "tag", "type": "text"}}]$$);
SELECT count(*) AS rows, count(*) FILTER (WHERE _steward_side = 'o') AS marked,
       count(*) FILTER (WHERE lvl = 7) AS lvl7 FROM m16f;
-- The marker has no default for the rows written later (the trigger sets it).
SELECT atthasdef, atthasmissing FROM pg_attribute
 WHERE attrelid = 'm16f'::regclass AND attname = '_steward_side';
SELECT rows_total FROM steward.migrations WHERE name = 'm16f_fast';
CALL steward.migration_backfill('m16f_fast');
-- No row written, no rewrite: the same file and every row where it was.
SELECT pg_relation_filenode('m16f') = b.node AS same_file,
       (SELECT array_agg(ctid ORDER BY id) FROM m16f) = b.ctids AS rows_unmoved
  FROM m16f_before b;
SELECT phase, rows_backfilled, rows_total FROM steward.migrations WHERE name = 'm16f_fast';
SELECT "check", passed FROM steward.migration_validate('m16f_fast') ORDER BY "check";
-- Both shapes still write as before.
UPDATE m16f SET amt = 0 WHERE id = 1 RETURNING id, lvl, tag, _steward_side;
SET search_path = m16f_fast, public;
UPDATE m16f SET lvl = 9, tag = 't' WHERE id = 2 RETURNING id, lvl, tag;
INSERT INTO m16f (id, amt, note) VALUES (1001, 1, 'x') RETURNING id, lvl, tag;
RESET search_path;
SELECT id, lvl, tag, _steward_side FROM m16f WHERE id IN (1, 2, 3, 1001) ORDER BY id;
SELECT steward.migration_complete('m16f_fast');
SELECT steward.migration_cleanup('m16f_fast');
SELECT count(*) FILTER (WHERE lvl = 7) AS lvl7, count(*) FILTER (WHERE lvl = 9) AS lvl9 FROM m16f;

-- Only a dropped column: nothing to fill either.
TRUNCATE m16f_before;
INSERT INTO m16f_before SELECT pg_relation_filenode('m16f'), (SELECT array_agg(ctid ORDER BY id) FROM m16f);
SELECT steward.migration_start('m16f_drop', $$[
  {"drop_column": {"table": "m16f", "column": "note", "down": "'none'"}}]$$);
CALL steward.migration_backfill('m16f_drop');
SELECT (SELECT array_agg(ctid ORDER BY id) FROM m16f) = b.ctids AS rows_unmoved FROM m16f_before b;
SELECT phase, rows_backfilled FROM steward.migrations WHERE name = 'm16f_drop';
SELECT steward.migration_rollback('m16f_drop');

-- A default that is not immutable, an up, or a check: filled row by row, as before.
SELECT steward.migration_start('m16f_now', $$[
  {"add_column": {"table": "m16f", "column": "seen", "type": "timestamptz", "default": "now()"}}]$$);
SELECT count(*) FILTER (WHERE _steward_side IS NULL) AS unfilled FROM m16f;
CALL steward.migration_backfill('m16f_now');
SELECT phase, rows_backfilled FROM steward.migrations WHERE name = 'm16f_now';
SELECT steward.migration_rollback('m16f_now');
SELECT steward.migration_start('m16f_up', $$[
  {"add_column": {"table": "m16f", "column": "dbl", "type": "numeric", "up": "amt * 2"}},
  {"add_column": {"table": "m16f", "column": "k", "type": "int", "default": "3"}}]$$);
SELECT count(*) FILTER (WHERE _steward_side IS NULL) AS unfilled FROM m16f;
SELECT steward.migration_rollback('m16f_up');
SELECT steward.migration_start('m16f_chk', $$[
  {"add_column": {"table": "m16f", "column": "k", "type": "int", "default": "3", "check": "k > 0"}}]$$);
SELECT count(*) FILTER (WHERE _steward_side IS NULL) AS unfilled FROM m16f;
SELECT steward.migration_rollback('m16f_chk');
DROP TABLE m16f;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m16f_fast'), ('m16f_drop'), ('m16f_now'),
    ('m16f_up'), ('m16f_chk');
\i test/sql/drop_migration_records.sql
