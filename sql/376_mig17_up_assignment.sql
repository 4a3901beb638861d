-- Start's one evaluation of an up coerces it to the new column's type by
-- the assignment rules, as the backfill's SET and the dual-write trigger
-- do (mig17 item 1): an explicit cast cut a value too long for
-- varchar(n), char(n) or bit(n), so such an up passed start and failed at
-- the backfill (22001/22026).  numeric(p,s) overflow (22003) is refused
-- at start too (a domain on a table holding rows is refused before any
-- evaluation, 382; on an empty table nothing is evaluated); what
-- assignment accepts passes.  An alter_column's "default", the default of the new
-- shape's view, is evaluated at start the same way (mig17 item 2).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE u376 (id int PRIMARY KEY, s text, n numeric, b varbit) USING steward;
INSERT INTO u376 VALUES (1, 'toolong', 12345.678, B'10101');
CREATE DOMAIN d376 AS text CHECK (length(VALUE) < 3);
CREATE TABLE e376 (id int PRIMARY KEY, s text) USING steward;

-- Refused at start with the backfill's SQLSTATE, nothing left behind.
SELECT steward.migration_start('m376_1', '[{"add_column": {"table": "u376", "column": "v", "type": "varchar(3)", "up": "s"}}]');
SELECT steward.migration_start('m376_2', '[{"add_column": {"table": "u376", "column": "v", "type": "char(2)", "up": "s || ''x''"}}]');
SELECT steward.migration_start('m376_3', '[{"add_column": {"table": "u376", "column": "v", "type": "numeric(4,1)", "up": "n"}}]');
SELECT steward.migration_start('m376_4', '[{"add_column": {"table": "u376", "column": "v", "type": "bit(3)", "up": "b"}}]');
SELECT steward.migration_start('m376_5', '[{"alter_column": {"table": "u376", "column": "s", "type": "varchar(4)"}}]');
SELECT name, phase FROM steward.migrations WHERE name LIKE 'm376%' ORDER BY name;
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'u376'::regclass AND attnum > 0 AND NOT attisdropped;
-- What assignment accepts passes: trailing blanks into varchar, numeric
-- rounding, and the backfill writes the same values.
UPDATE u376 SET s = 'ab     ';
SELECT steward.migration_start('m376_6', '[{"add_column": {"table": "u376", "column": "v", "type": "varchar(3)", "up": "s"}}, {"add_column": {"table": "u376", "column": "w", "type": "numeric(7,1)", "up": "n"}}]');
CALL steward.migration_backfill('m376_6');
SELECT v, length(v), w FROM u376;
SELECT "check", passed FROM steward.migration_validate('m376_6') WHERE NOT passed;
SELECT steward.migration_rollback('m376_6');

-- An alter_column's default (the new shape's view's): refused at start
-- with its SQLSTATE where the new application's INSERTs would fail.
SELECT steward.migration_start('m376_7', '[{"alter_column": {"table": "u376", "column": "s", "type": "varchar(10)", "default": "''much too long''"}}]');
SELECT steward.migration_start('m376_8', '[{"alter_column": {"table": "u376", "column": "n", "type": "numeric(4,1)", "up": "1", "default": "12345"}}]');
SELECT steward.migration_start('m376_9', '[{"alter_column": {"table": "e376", "column": "s", "type": "d376", "default": "''abc''"}}]');
SELECT steward.migration_start('m376_10', '[{"alter_column": {"table": "u376", "column": "s", "type": "varchar(10)", "default": "1/0"}}]');
SELECT name, phase FROM steward.migrations WHERE name LIKE 'm376%' ORDER BY name;
-- One that fits goes on the view, and the new application's INSERT gets it.
SELECT steward.migration_start('m376_11', '[{"alter_column": {"table": "u376", "column": "s", "type": "varchar(10)", "default": "''fits''"}}]');
INSERT INTO m376_11.u376 (id, n, b) VALUES (2, 1, B'1');
SELECT id, s FROM m376_11.u376 ORDER BY id;
SELECT steward.migration_rollback('m376_11');

DROP TABLE u376, e376;
DROP DOMAIN d376;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m376_6'), ('m376_11');
\i test/sql/drop_migration_records.sql
