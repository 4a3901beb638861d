-- Migration DDL guard leftovers (guard4).  Each statement below passed on
-- the old code; each is now refused (55006) with a HINT naming the step.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

-- 1. A column migration's shape views (<mig>.<t>, <mig>_old.<t>) and
-- their schemas: complete moves the old column's default onto the old
-- view (it failed with 42P01 after a rename, SET SCHEMA, DROP VIEW or
-- DROP SCHEMA CASCADE of it), cleanup and rollback drop the views by
-- name (a renamed one kept the dropped columns: 2BP01), CREATE OR
-- REPLACE dropped security_invoker and could map any column.
CREATE TABLE g7 (id int PRIMARY KEY, a int DEFAULT 7, b text);
INSERT INTO g7 SELECT g, g, 'x' FROM generate_series(1, 5) g;
SELECT steward.migration_start('g7m', '[{"alter_column": {"table": "g7", "column": "a", "name": "a2", "type": "bigint"}}]');
ALTER VIEW g7m_old.g7 RENAME TO g7x;
\set VERBOSITY terse
ALTER VIEW g7m.g7 RENAME TO g7x;
ALTER TABLE g7m_old.g7 RENAME TO g7x;
ALTER VIEW g7m_old.g7 SET SCHEMA public;
CREATE OR REPLACE VIEW g7m_old.g7 AS SELECT id, a, b FROM g7;
CREATE OR REPLACE VIEW g7m.g7 WITH (security_invoker = true) AS SELECT t.id, t.a2, t.b FROM g7 t;
DROP VIEW g7m_old.g7;
DROP VIEW g7m.g7;
DROP VIEW IF EXISTS g7m.g7, g7m.nothing;
DROP SCHEMA g7m_old CASCADE;
DROP SCHEMA g7m CASCADE;
DROP SCHEMA IF EXISTS g7m_old;
\set VERBOSITY default
-- A view of one's own in those schemas is one's own to change.
CREATE VIEW g7m_old.mine AS SELECT 1 AS x;
CREATE OR REPLACE VIEW g7m_old.mine AS SELECT 2 AS x;
ALTER VIEW g7m_old.mine RENAME TO mine2;
DROP VIEW g7m_old.mine2;
SELECT n.nspname, c.relname, c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('g7m', 'g7m_old') ORDER BY 1, 2;
CALL steward.migration_backfill('g7m');
SELECT bool_and(passed) FROM steward.migration_validate('g7m');
SELECT steward.migration_complete('g7m');
-- The old version's writes through its view take the old default.
INSERT INTO g7m_old.g7 (id, b) VALUES (100, 'z');
SELECT id, a2, b FROM g7 WHERE id = 100;
DROP VIEW g7m_old.g7;
SELECT steward.migration_cleanup('g7m');
SELECT count(*) FROM pg_namespace WHERE nspname IN ('g7m', 'g7m_old');
DROP TABLE g7;

-- 2. REPLICA IDENTITY of a published table under a column migration: the
-- migration pins a column list of one shape on the publication (5ff9053),
-- and PostgreSQL 15 refuses UPDATE and DELETE when that list does not
-- cover the replica identity ("column list ... does not cover the
-- replica identity"): FULL, or an index over a column one shape lacks,
-- is refused; an index over columns both shapes have passes.
CREATE TABLE g7r (id int PRIMARY KEY, a int NOT NULL UNIQUE, b text NOT NULL);
CREATE UNIQUE INDEX g7r_idb ON g7r (id, b);
INSERT INTO g7r SELECT g, g, 'x' FROM generate_series(1, 5) g;
SET client_min_messages = error;
CREATE PUBLICATION g7r_pub FOR TABLE g7r;
RESET client_min_messages;
SELECT steward.migration_start('g7rm', '[{"alter_column": {"table": "g7r", "column": "a", "name": "a2", "type": "bigint", "unique": true}}]');
ALTER TABLE g7r REPLICA IDENTITY FULL;
\set VERBOSITY terse
ALTER TABLE g7r REPLICA IDENTITY USING INDEX g7r_a_key;
\set VERBOSITY default
ALTER TABLE g7r REPLICA IDENTITY USING INDEX g7r_idb;
SELECT relreplident FROM pg_class WHERE oid = 'g7r'::regclass;
UPDATE g7r SET b = 'y' WHERE id = 1;
DELETE FROM g7r WHERE id = 2;
ALTER TABLE g7r REPLICA IDENTITY DEFAULT;
CALL steward.migration_backfill('g7rm');
SELECT bool_and(passed) FROM steward.migration_validate('g7rm');
SELECT steward.migration_complete('g7rm');
\set VERBOSITY terse
ALTER TABLE g7r REPLICA IDENTITY FULL;
\set VERBOSITY default
UPDATE g7r SET b = 'z' WHERE id = 1;
SELECT steward.migration_rollback('g7rm');
-- No migration: the table's own business again.
ALTER TABLE g7r REPLICA IDENTITY FULL;
ALTER TABLE g7r REPLICA IDENTITY DEFAULT;
DROP PUBLICATION g7r_pub;
DROP TABLE g7r;

-- 3. ALTER INDEX ... DEPENDS ON EXTENSION: DROP EXTENSION would then drop
-- the index past DROP INDEX's guard -- a unique index of one layout of a
-- relayout, one over a migrated column (or the one the migration builds
-- for the new column), an index step's index.  NO DEPENDS and plain
-- indexes pass.
CREATE TABLE g7l (id int PRIMARY KEY, v int) USING steward;
CREATE INDEX g7l_v ON g7l (v);
INSERT INTO g7l SELECT g, g FROM generate_series(1, 10) g;
SELECT steward.migration_start('g7lm', '[{"relayout": {"table": "g7l", "partition_by": "HASH (id)", "partitions": 2}}]');
ALTER INDEX g7l_pkey DEPENDS ON EXTENSION plpgsql;
SELECT indexrelid::regclass AS g7l_new_pkey FROM pg_index
 WHERE indrelid = 'g7l_relayout_new'::regclass AND indisprimary \gset
\set VERBOSITY terse
ALTER INDEX :g7l_new_pkey DEPENDS ON EXTENSION plpgsql;
\set VERBOSITY default
ALTER INDEX g7l_v DEPENDS ON EXTENSION plpgsql;
ALTER INDEX g7l_v NO DEPENDS ON EXTENSION plpgsql;
SELECT steward.migration_rollback('g7lm');
DROP TABLE g7l;

CREATE TABLE g7c (id int PRIMARY KEY, a int UNIQUE, c int UNIQUE);
INSERT INTO g7c SELECT g, g, g FROM generate_series(1, 5) g;
SELECT steward.migration_start('g7cm', '[{"alter_column": {"table": "g7c", "column": "a", "name": "a2", "type": "bigint", "unique": true}}]');
CALL steward.migration_backfill('g7cm');
\set VERBOSITY terse
ALTER INDEX g7c_a_key DEPENDS ON EXTENSION plpgsql;
SELECT unique_name AS g7c_new_key FROM steward.migration_columns WHERE migration = 'g7cm' \gset
\set VERBOSITY sqlstate
ALTER INDEX :"g7c_new_key" DEPENDS ON EXTENSION plpgsql;
\set VERBOSITY default
ALTER INDEX g7c_c_key DEPENDS ON EXTENSION plpgsql;
ALTER INDEX g7c_c_key NO DEPENDS ON EXTENSION plpgsql;
SELECT steward.migration_rollback('g7cm');
DROP TABLE g7c;

CREATE TABLE g7i (id int PRIMARY KEY, b int);
CREATE INDEX g7i_b ON g7i (b);
SELECT steward.migration_start('g7im', '[{"drop_index": {"name": "g7i_b", "force": true}}]');
ALTER INDEX g7i_b DEPENDS ON EXTENSION plpgsql;
SELECT steward.migration_rollback('g7im');
SELECT count(*) FROM pg_depend WHERE classid = 'pg_class'::regclass AND deptype = 'x'
   AND objid IN ('g7i_b'::regclass, 'g7i_pkey'::regclass);
DROP TABLE g7i;
-- The suite's later tests (16) count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('g7m', 'g7rm', 'g7lm', 'g7cm', 'g7im');
\i test/sql/drop_migration_records.sql
