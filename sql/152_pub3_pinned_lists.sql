-- review16 R16-1: a publication pinned at start (it named the table
-- without a column list) took, through ALTER PUBLICATION ... SET TABLE or
-- DROP TABLE + ADD TABLE, a column list over the replaced column or
-- _steward_side, and any publication a row filter over the replaced
-- column; a list the owner narrowed was widened at complete and removed
-- at cleanup.  Now: 2BP01 for a list or filter over those columns,
-- pinned or not; 55006 for another list on a pinned publication; the
-- pin's own list (or none) still passes.  The rename nit: another role's
-- ALTER PUBLICATION ... RENAME no longer touches the records first.
-- R16-3: temporary tables are refused at start for every step kind
-- (0A000); before, index steps took them and column and relayout starts
-- failed with core's errors on pg_steward's statements.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS pub3_app1;
DROP ROLE IF EXISTS pub3_app2;
RESET client_min_messages;
CREATE ROLE pub3_app1;
CREATE ROLE pub3_app2;
GRANT CREATE ON SCHEMA public TO pub3_app1;
SELECT format('GRANT CREATE ON DATABASE %I TO pub3_app1', current_database()) \gexec
SET ROLE pub3_app1;
SET client_min_messages = error;

CREATE TABLE pu (id int PRIMARY KEY, a int, b int); INSERT INTO pu SELECT g,g,g FROM generate_series(1,10) g;
CREATE PUBLICATION pu1 FOR TABLE pu;
SELECT steward.migration_start('pum', '[{"alter_column": {"table": "pu", "column": "a", "name": "a2", "type": "bigint"}}]');
RESET client_min_messages;
SELECT pubname, attnames FROM pg_publication_tables WHERE tablename = 'pu';
-- Over _steward_side or the replaced column: refused as for a publication not pinned.
ALTER PUBLICATION pu1 SET TABLE pu (id, _steward_side);
BEGIN;
ALTER PUBLICATION pu1 DROP TABLE pu;
ALTER PUBLICATION pu1 ADD TABLE pu (id, a, _steward_side);
ROLLBACK;
-- Narrowed: refused (the migration would widen it at complete).
ALTER PUBLICATION pu1 SET TABLE pu (id, a);
ALTER PUBLICATION pu1 SET TABLE pu (id, b);
-- Row filters over the replaced column, pinned or not.
ALTER PUBLICATION pu1 SET TABLE pu (id, a, b) WHERE (a > 5);
CREATE PUBLICATION pu2 FOR TABLE pu WHERE (a > 5) WITH (publish = 'insert');
-- Whatever the session's string settings (the filter's columns were read
-- with a pattern that standard_conforming_strings = off emptied).
SET standard_conforming_strings = off;
CREATE PUBLICATION pu2 FOR TABLE pu WHERE (a > 5) WITH (publish = 'insert');
RESET standard_conforming_strings;
-- The pin's own list, and a filter over a column both shapes have (the
-- replica identity's, for UPDATE), pass.
BEGIN;
ALTER PUBLICATION pu1 DROP TABLE pu;
ALTER PUBLICATION pu1 ADD TABLE pu (b, a, id) WHERE (b > 0);
ROLLBACK;
ALTER PUBLICATION pu1 SET TABLE pu WHERE (id > 0);
SELECT pubname, attnames, rowfilter FROM pg_publication_tables WHERE tablename = 'pu';
-- A publication not pinned keeps its own list.
SET client_min_messages = error;
CREATE PUBLICATION pu3 FOR TABLE pu (id, b);
RESET client_min_messages;
CALL steward.migration_backfill('pum');
SELECT passed FROM steward.migration_validate('pum');
SELECT steward.migration_complete('pum');
SELECT pubname, attnames, rowfilter FROM pg_publication_tables WHERE tablename = 'pu' ORDER BY 1;
ALTER PUBLICATION pu1 SET TABLE pu (id, b);
ALTER PUBLICATION pu1 SET TABLE pu (id, _steward_old_a, b, a2);

-- The rename nit: another role's rename is refused by core and leaves the
-- record alone; the owner's rename is followed.
RESET ROLE;
SET ROLE pub3_app2;
ALTER PUBLICATION pu1 RENAME TO pu1x;
RESET ROLE;
SET ROLE pub3_app1;
ALTER PUBLICATION pu1 RENAME TO pu1r;
RESET ROLE;
SELECT publications FROM steward.migration_tables WHERE migration = 'pum';
SET ROLE pub3_app1;
SELECT steward.migration_cleanup('pum');
SELECT pubname, attnames, rowfilter FROM pg_publication_tables WHERE tablename = 'pu' ORDER BY 1;

-- R16-3: temporary tables, every step kind.
CREATE TEMP TABLE tt (id int PRIMARY KEY, a int); INSERT INTO tt SELECT g,g FROM generate_series(1,10) g;
CREATE INDEX tt_b ON tt (a);
\set VERBOSITY sqlstate
SELECT steward.migration_start('ttix', '[{"create_index": {"table": "tt", "name": "tt_a", "definition": "(a)"}}]');
\set VERBOSITY default
SELECT steward.migration_start('ttdx', '[{"drop_index": {"name": "tt_b"}}]');
SELECT steward.migration_start('ttm', '[{"alter_column": {"table": "tt", "column": "a", "type": "bigint"}}]');
SELECT steward.migration_start('ttr', '[{"relayout": {"table": "tt", "partition_by": "HASH (id)", "partitions": 2}}]');
RESET ROLE;
SELECT count(*) FROM steward.migration_runs WHERE name IN ('ttix', 'ttdx', 'ttm', 'ttr');
SELECT count(*) FROM pg_namespace WHERE nspname IN ('ttm', 'ttm_old');

DROP PUBLICATION pu1r, pu3;
DROP TABLE pu, tt;
REVOKE CREATE ON SCHEMA public FROM pub3_app1;
SELECT format('REVOKE CREATE ON DATABASE %I FROM pub3_app1', current_database()) \gexec
DROP ROLE pub3_app1;
DROP ROLE pub3_app2;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('pum');
\i test/sql/drop_migration_records.sql
