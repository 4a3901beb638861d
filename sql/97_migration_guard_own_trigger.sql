-- The migration's own trigger cannot be swapped (codereview F2): CREATE
-- [OR REPLACE] TRIGGER of a zz_steward_* trigger on a table a migration
-- changes is refused (55006) like DROP / RENAME / DISABLE of it, and so
-- is ALTER TRIGGER ... DEPENDS ON EXTENSION (DROP EXTENSION would drop
-- it); a trigger of one's own, replaced or not, passes.  Should the
-- trigger be replaced around the guard anyway (a superuser with the
-- event trigger off), complete refuses (55000): the trigger must still
-- run the migration's function, not only carry its name and ENABLE
-- ALWAYS; rollback ends the migration and drops it.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE go_owner;
GRANT CREATE ON SCHEMA public TO go_owner;
SELECT format('GRANT CREATE ON DATABASE %I TO go_owner', current_database()) \gexec
SET ROLE go_owner;
CREATE FUNCTION go_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TABLE go_c (id int PRIMARY KEY, a int, b int) USING steward;
INSERT INTO go_c SELECT g, g, g FROM generate_series(1, 5) g;
SELECT steward.migration_start('go_m', '[{"alter_column": {"table": "go_c", "column": "a", "name": "a2", "type": "bigint"}}]');
CREATE OR REPLACE TRIGGER zz_steward_migration BEFORE INSERT OR UPDATE ON go_c
    FOR EACH ROW EXECUTE FUNCTION go_noop();
\echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER zz_steward_other BEFORE INSERT ON go_c FOR EACH ROW EXECUTE FUNCTION go_noop();
\echo :LAST_ERROR_SQLSTATE
ALTER TRIGGER zz_steward_migration ON go_c DEPENDS ON EXTENSION plpgsql;
\echo :LAST_ERROR_SQLSTATE
-- a trigger of one's own: created, replaced, made to depend on an extension
CREATE TRIGGER go_mine BEFORE UPDATE ON go_c FOR EACH ROW EXECUTE FUNCTION go_noop();
CREATE OR REPLACE TRIGGER go_mine BEFORE INSERT OR UPDATE ON go_c FOR EACH ROW EXECUTE FUNCTION go_noop();
ALTER TRIGGER go_mine ON go_c DEPENDS ON EXTENSION plpgsql;
ALTER TRIGGER go_mine ON go_c NO DEPENDS ON EXTENSION plpgsql;
DROP TRIGGER go_mine ON go_c;
SELECT tgname, tgfoid::regproc, tgenabled FROM pg_trigger WHERE tgrelid = 'go_c'::regclass ORDER BY 1;
SELECT count(*) FROM pg_depend WHERE classid = 'pg_trigger'::regclass AND deptype = 'x'
   AND objid IN (SELECT oid FROM pg_trigger WHERE tgrelid = 'go_c'::regclass);
-- writes reach both shapes
INSERT INTO go_c (id, a, b) VALUES (100, 100, 100);
SELECT id, a, a2 FROM go_c WHERE id = 100;
CALL steward.migration_backfill('go_m');
SELECT bool_and(passed) FROM steward.migration_validate('go_m');

-- Around the guard: a superuser replaces the trigger with the event
-- trigger off (in one transaction, so it is on again whatever happens).
RESET ROLE;
SELECT evtenabled AS guard_enabled FROM pg_event_trigger WHERE evtname = 'steward_relayout_guard' \gset
BEGIN;
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
CREATE OR REPLACE TRIGGER zz_steward_migration BEFORE INSERT OR UPDATE ON go_c
    FOR EACH ROW EXECUTE FUNCTION go_noop();
ALTER TABLE go_c ENABLE ALWAYS TRIGGER zz_steward_migration;
SELECT CASE :'guard_enabled' WHEN 'A' THEN 'ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS'
                             WHEN 'O' THEN 'ALTER EVENT TRIGGER steward_relayout_guard ENABLE' END \gexec
COMMIT;
SELECT evtenabled = :'guard_enabled' AS guard_as_before FROM pg_event_trigger WHERE evtname = 'steward_relayout_guard';
SET ROLE go_owner;
SELECT tgname, tgfoid::regproc, tgenabled FROM pg_trigger WHERE tgrelid = 'go_c'::regclass ORDER BY 1;
SELECT steward.migration_complete('go_m');
\echo :LAST_ERROR_SQLSTATE
SELECT phase FROM steward.migrations WHERE name = 'go_m';
SELECT steward.migration_rollback('go_m');
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'go_c'::regclass;
SELECT attname FROM pg_attribute WHERE attrelid = 'go_c'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
-- after the migration a zz_steward_ trigger name is the owner's to use
CREATE TRIGGER zz_steward_other BEFORE INSERT ON go_c FOR EACH ROW EXECUTE FUNCTION go_noop();

-- A partitioned table: the name is looked for on it and every partition
-- below it (OR REPLACE on a partitioned table replaces the trigger of that
-- name on its partitions too).  The new layout of a relayout is refused;
-- a partitioned table no migration changes takes the name.
CREATE TABLE go_r (id int PRIMARY KEY, v int) USING steward;
SELECT steward.migration_start('go_r_rl', '[{"relayout": {"table": "go_r", "partition_by": "HASH (id)", "partitions": 2}}]');
CREATE OR REPLACE TRIGGER zz_steward_relayout AFTER INSERT ON go_r_relayout_new
    FOR EACH ROW EXECUTE FUNCTION go_noop();
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE go_p (id int, v int) PARTITION BY RANGE (id);
CREATE TABLE go_p1 PARTITION OF go_p FOR VALUES FROM (0) TO (10);
CREATE OR REPLACE TRIGGER zz_steward_relayout AFTER INSERT ON go_p
    FOR EACH ROW EXECUTE FUNCTION go_noop();
SELECT tgrelid::regclass, tgname FROM pg_trigger WHERE tgrelid IN ('go_p'::regclass, 'go_p1'::regclass) ORDER BY 1;
SELECT steward.migration_rollback('go_r_rl');
DROP TABLE go_r, go_p;
DROP TABLE go_c;
DROP FUNCTION go_noop();
RESET ROLE;
SELECT format('REVOKE CREATE ON DATABASE %I FROM go_owner', current_database()) \gexec
REVOKE CREATE ON SCHEMA public FROM go_owner;
DROP ROLE go_owner;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('go_m'), ('go_r_rl');
\i test/sql/drop_migration_records.sql
