-- closing35 item 1: CREATE INDEX CONCURRENTLY writes its index's pg_depend
-- rows in an earlier transaction than the one its ddl_command_end runs
-- in, so the shape guard (which judges the rows this transaction wrote)
-- never saw an index over the row type of a column migration's shape
-- view, and a create_index step, which its worker builds concurrently,
-- passed the same way: the views' drop at cleanup and rollback then
-- needed the index gone.  Both are now judged from the statement,
-- analysed as the build analyses it: at ddl_command_start, and at
-- migration_start for the step (55006).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS g4i_app1;
DROP ROLE IF EXISTS g4i_app2;
RESET client_min_messages;
CREATE ROLE g4i_app1;
CREATE ROLE g4i_app2;
GRANT CREATE ON SCHEMA public TO g4i_app1, g4i_app2;
SELECT format('GRANT CREATE ON DATABASE %I TO g4i_app1, g4i_app2', current_database()) \gexec

SET ROLE g4i_app1;
CREATE TABLE public.g4i_cz (id int PRIMARY KEY, a int);
INSERT INTO public.g4i_cz SELECT g, g FROM generate_series(1, 10) g;
GRANT SELECT ON public.g4i_cz TO g4i_app2;
SELECT steward.migration_start('g4i_czm', '[{"alter_column": {"table": "g4i_cz", "column": "a", "type": "bigint"}}]');
RESET ROLE;

-- 1. Another role's table: an index over either shape's row type, its
-- array type, or in the predicate, built concurrently: refused, and no
-- INVALID index is left behind.
SET ROLE g4i_app2;
CREATE TABLE public.g4i_ix (id int, a int);
CREATE INDEX CONCURRENTLY g4i_i1 ON public.g4i_ix (((id, a)::g4i_czm.g4i_cz));
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
CREATE INDEX CONCURRENTLY g4i_i2 ON public.g4i_ix (((id, a)::g4i_czm_old.g4i_cz));
CREATE INDEX CONCURRENTLY g4i_i3 ON public.g4i_ix ((ARRAY[(id, a)::g4i_czm.g4i_cz]));
CREATE INDEX CONCURRENTLY g4i_i4 ON public.g4i_ix (id) WHERE (id, a)::g4i_czm.g4i_cz IS NOT NULL;
CREATE INDEX CONCURRENTLY ON public.g4i_ix (((id, a)::g4i_czm.g4i_cz));
-- Plain columns pass, concurrently or not.
CREATE INDEX CONCURRENTLY g4i_ok1 ON public.g4i_ix (a);
CREATE INDEX CONCURRENTLY g4i_ok2 ON public.g4i_ix (((id, a)::public.g4i_ix));
-- Not concurrently: the shape guard, as before.
CREATE INDEX g4i_i5 ON public.g4i_ix (((id, a)::g4i_czm.g4i_cz));
-- A table the caller does not own: core's refusal, not the guard's.
CREATE INDEX CONCURRENTLY g4i_i6 ON public.g4i_cz (((id, a)::g4i_czm.g4i_cz));
\echo :LAST_ERROR_SQLSTATE

-- 2. A create_index step over another migration's shape (its definition
-- or its where): refused at migration_start, no record left.
CREATE TABLE public.g4i_ix2 (id int, a int);
SELECT steward.migration_start('g4i_ixm', '[{"create_index": {"table": "g4i_ix2", "name": "g4i_s1", "definition": "(((id, a)::g4i_czm.g4i_cz))"}}]');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_start('g4i_ixm', '[{"create_index": {"table": "g4i_ix2", "name": "g4i_s1", "definition": "(id)", "where": "(id, a)::g4i_czm_old.g4i_cz IS NOT NULL"}}]');
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'g4i_ixm';
RESET ROLE;
SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid IN ('public.g4i_ix'::regclass, 'public.g4i_ix2'::regclass) ORDER BY 1;

-- 3. The owner's cleanup drops the views: nothing uses them.
SET ROLE g4i_app1;
CALL steward.migration_backfill('g4i_czm');
SELECT count(*) FILTER (WHERE passed) AS passed, count(*) AS checks FROM steward.migration_validate('g4i_czm');
SELECT steward.migration_complete('g4i_czm');
SELECT steward.migration_cleanup('g4i_czm');
SELECT count(*) AS shape_schemas FROM pg_namespace WHERE nspname IN ('g4i_czm', 'g4i_czm_old');
RESET ROLE;

DROP TABLE public.g4i_ix, public.g4i_ix2, public.g4i_cz;
REVOKE CREATE ON SCHEMA public FROM g4i_app1, g4i_app2;
SELECT format('REVOKE CREATE ON DATABASE %I FROM g4i_app1, g4i_app2', current_database()) \gexec
DROP ROLE g4i_app1;
DROP ROLE g4i_app2;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('g4i_czm', 'g4i_ixm');
\i test/sql/drop_migration_records.sql
