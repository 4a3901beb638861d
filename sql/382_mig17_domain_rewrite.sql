-- A column whose type is a domain with constraints (CHECK or NOT NULL, a
-- base domain's too) makes PostgreSQL 15's ADD COLUMN rewrite the whole
-- table under ACCESS EXCLUSIVE, default or not, to check them (mig16
-- item 3): migration_start adds such a column (an add_column's, or an
-- alter_column's new column), so it rewrote the table behind an "online"
-- migration.  Now start refuses it on a table holding a row (0A000,
-- before anything changes: relfilenode unchanged), the HINT giving the
-- step with the base type and the domain's constraints as "check" and
-- "not_null"; an empty table costs nothing and is allowed (mig17 item 3).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE DOMAIN pos382 AS integer CHECK (VALUE > 0);
CREATE DOMAIN small382 AS pos382 CHECK (VALUE < 100) NOT NULL;
CREATE DOMAIN plain382 AS text;
CREATE TABLE d382 (id int PRIMARY KEY, q int, note text) USING steward;
INSERT INTO d382 SELECT g, g, 'n' FROM generate_series(1, 50) g;
CREATE TEMP TABLE before382 AS SELECT relfilenode FROM pg_class WHERE oid = 'd382'::regclass;

-- Refused: add_column without and with a default, a domain over a domain
-- (NOT NULL), an alter_column's type change and a rename keeping it.
SELECT steward.migration_start('m382_1', '[{"add_column": {"table": "d382", "column": "p", "type": "pos382"}}]');
SELECT steward.migration_start('m382_2', '[{"add_column": {"table": "d382", "column": "p", "type": "pos382", "default": "1"}}]');
SELECT steward.migration_start('m382_3', '[{"add_column": {"table": "d382", "column": "p", "type": "small382", "up": "q"}}]');
SELECT steward.migration_start('m382_4', '[{"alter_column": {"table": "d382", "column": "q", "type": "pos382"}}]');
SELECT steward.migration_start('m382_5', '[{"alter_column": {"table": "d382", "column": "q", "name": "qty", "type": "small382"}}]');
SELECT (SELECT relfilenode FROM pg_class WHERE oid = 'd382'::regclass) = relfilenode AS not_rewritten FROM before382;
SELECT count(*) AS migrations FROM steward.migrations WHERE name LIKE 'm382%';
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'd382'::regclass AND attnum > 0 AND NOT attisdropped;

-- The HINT's step runs online: no rewrite at start, the check holds.
SELECT steward.migration_start('m382_6', '[{"add_column": {"table": "d382", "column": "p", "type": "integer", "check": "(p > 0)", "default": "1"}}]');
SELECT (SELECT relfilenode FROM pg_class WHERE oid = 'd382'::regclass) = relfilenode AS not_rewritten FROM before382;
CALL steward.migration_backfill('m382_6');
SELECT count(*) FILTER (WHERE p = 1) AS filled FROM d382;
SELECT steward.migration_rollback('m382_6');

-- A domain without constraints adds no rewrite: allowed.
SELECT steward.migration_start('m382_7', '[{"add_column": {"table": "d382", "column": "p", "type": "plain382"}}]');
SELECT (SELECT relfilenode FROM pg_class WHERE oid = 'd382'::regclass) = relfilenode AS not_rewritten FROM before382;
SELECT steward.migration_rollback('m382_7');

-- An empty table: allowed, and the domain holds for both shapes' writes.
CREATE TABLE e382 (id int PRIMARY KEY, q int) USING steward;
SELECT steward.migration_start('m382_8', '[{"add_column": {"table": "e382", "column": "p", "type": "pos382", "default": "5"}}]');
INSERT INTO e382 (id, q) VALUES (1, 1);
INSERT INTO m382_8.e382 (id, q, p) VALUES (2, 2, 7);
INSERT INTO m382_8.e382 (id, q, p) VALUES (3, 3, -1);
SELECT id, q, p FROM e382 ORDER BY id;
SELECT steward.migration_rollback('m382_8');

DROP TABLE d382, e382;
DROP DOMAIN small382, pos382, plain382;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m382_6'), ('m382_7'), ('m382_8');
\i test/sql/drop_migration_records.sql
