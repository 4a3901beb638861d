-- review17 R17-1, R17-4, R17-5: another role's object that depends on a
-- migration's transient objects -- a column migration's shape view, its
-- row type or its shapes' schema, a relayout's old or new layout, a
-- partition or row type of one -- blocked the rollback or the cleanup
-- with core's 2BP01 (the owner cannot drop the other role's object).  An
-- OID-alias constant records such a dependency with no privilege at all
-- (a numeric literal is not even looked up): CREATE INDEX CONCURRENTLY,
-- a create_index step's where, and anything during a relayout (a view,
-- index, BEGIN ATOMIC body, policy) were accepted.  Now refused at the
-- statement with 55006, and a relayout's start refuses such objects made
-- before it.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS g6_app1;
DROP ROLE IF EXISTS g6_app2;
DROP ROLE IF EXISTS g6_app3;
RESET client_min_messages;
CREATE ROLE g6_app1;
CREATE ROLE g6_app2;
CREATE ROLE g6_app3;
GRANT CREATE ON SCHEMA public TO g6_app1, g6_app2, g6_app3;
SELECT format('GRANT CREATE ON DATABASE %I TO g6_app1, g6_app3', current_database()) \gexec

-- 1. A column migration: g6_app3, with no privilege on anything of
-- g6_app1's, names its shapes by OID on its own table.
SET ROLE g6_app1;
CREATE TABLE public.g6_t (id int PRIMARY KEY, a int);
INSERT INTO public.g6_t SELECT g, g FROM generate_series(1, 10) g;
SELECT steward.migration_start('g6_cm', '[{"alter_column": {"table": "g6_t", "column": "a", "name": "a2", "type": "bigint", "up": "a::bigint", "down": "a2::int"}}]');
RESET ROLE;
SELECT 'g6_cm.g6_t'::regclass::oid AS new_view, 'g6_cm_old.g6_t'::regclass::oid AS old_view,
       'g6_cm.g6_t'::regtype::oid AS new_type, 'g6_cm'::regnamespace::oid AS new_schema \gset
SET ROLE g6_app3;
CREATE TABLE public.g6_own (id int, x int);
\set VERBOSITY terse
CREATE INDEX CONCURRENTLY g6_i1 ON public.g6_own (x) WHERE x::oid <> :'new_view'::regclass::oid;
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX CONCURRENTLY g6_i2 ON public.g6_own (x) WHERE x::oid <> :'old_view'::regclass::oid;
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX CONCURRENTLY g6_i3 ON public.g6_own ((x::oid = :'new_type'::regtype::oid));
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX CONCURRENTLY g6_i4 ON public.g6_own (x) WHERE x::oid <> :'new_schema'::regnamespace::oid;
\echo :LAST_ERROR_SQLSTATE
-- The same through a create_index step (built concurrently later).
SELECT steward.migration_start('g6_ci', format('[{"create_index": {"table": "g6_own", "name": "g6_i5", "definition": "(x)", "where": "x::oid <> ''%s''::regclass::oid"}}]', :'new_view')::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_start('g6_ci', format('[{"create_index": {"table": "g6_own", "name": "g6_i5", "definition": "(x)", "where": "x::oid <> ''%s''::regnamespace::oid"}}]', :'new_schema')::jsonb);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- Constants naming anything else pass.
CREATE INDEX CONCURRENTLY g6_i6 ON public.g6_own (x) WHERE x::oid <> 'public.g6_own'::regclass::oid;
CREATE INDEX CONCURRENTLY g6_i7 ON public.g6_own (x) WHERE x::oid <> 'pg_catalog'::regnamespace::oid;
-- Without CONCURRENTLY the shape guard refuses at the statement's end;
-- an object naming a shapes' schema is not in it (review17's nit).
\set VERBOSITY terse
CREATE INDEX g6_i8 ON public.g6_own (x) WHERE x::oid <> :'new_schema'::regnamespace::oid;
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW public.g6_iv AS SELECT 'g6_cm_old'::regnamespace AS n;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
RESET ROLE;
SELECT relname FROM pg_class WHERE relname LIKE 'g6\_i%' ORDER BY 1;
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'g6_ci';
-- The owner's rollback drops the shapes.
SET ROLE g6_app1;
SELECT steward.migration_rollback('g6_cm');
RESET ROLE;
SELECT count(*) AS shape_schemas FROM pg_namespace WHERE nspname IN ('g6_cm', 'g6_cm_old');

-- 2. A relayout.  An object made before the start that depends on the
-- table (here a regclass constant by OID): start refuses it.
SET ROLE g6_app1;
CREATE TABLE public.g6_r (id bigint, u bigint, PRIMARY KEY (id, u)) USING steward;
INSERT INTO public.g6_r SELECT g, g % 7 FROM generate_series(1, 50) g;
GRANT SELECT ON public.g6_r TO g6_app2;
RESET ROLE;
SELECT 'public.g6_r'::regclass::oid AS r_table \gset
SET ROLE g6_app3;
CREATE INDEX g6_b1 ON public.g6_own (x) WHERE x::oid <> :'r_table'::regclass::oid;
SET ROLE g6_app1;
SELECT steward.migration_start('g6_rm', '[{"relayout": {"table": "g6_r", "partition_by": "HASH (u)", "partitions": 2}}]');
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'g6_rm';
SET ROLE g6_app3;
DROP INDEX public.g6_b1;
SET ROLE g6_app1;
SELECT steward.migration_start('g6_rm', '[{"relayout": {"table": "g6_r", "partition_by": "HASH (u)", "partitions": 2}}]');
RESET ROLE;
SELECT 'public.g6_r_relayout_new'::regclass::oid AS r_new, 'public.g6_r_p0'::regclass::oid AS r_part,
       'public.g6_r_relayout_new'::regtype::oid AS r_new_type \gset
-- g6_app3, no privilege: a view, a plain index, CIC, a regtype, a partition.
SET ROLE g6_app3;
CREATE VIEW public.g6_v1 AS SELECT :'r_new'::regclass AS r;
CREATE INDEX g6_b2 ON public.g6_own (x) WHERE x::oid <> :'r_new'::regclass::oid;
\set VERBOSITY terse
CREATE INDEX CONCURRENTLY g6_b3 ON public.g6_own (x) WHERE x::oid <> :'r_new'::regclass::oid;
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX CONCURRENTLY g6_b4 ON public.g6_own (x) WHERE x::oid <> :'r_table'::regclass::oid;
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX CONCURRENTLY g6_b5 ON public.g6_own ((x::oid = :'r_new_type'::regtype::oid));
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX CONCURRENTLY g6_b6 ON public.g6_own (x) WHERE x::oid <> :'r_part'::regclass::oid;
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW public.g6_v2 AS SELECT :'r_part'::regclass AS r;
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION public.g6_f0() RETURNS oid LANGUAGE sql BEGIN ATOMIC SELECT :'r_table'::regclass::oid; END;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- g6_app2, SELECT on the table: a BEGIN ATOMIC body, a policy, a view by name.
SET ROLE g6_app2;
CREATE TABLE public.g6_own2 (id bigint);
CREATE FUNCTION public.g6_f1() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT sum(u) FROM public.g6_r; END;
\set VERBOSITY terse
CREATE POLICY g6_p ON public.g6_own2 USING (EXISTS (SELECT 1 FROM public.g6_r WHERE g6_r.id = g6_own2.id));
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW public.g6_v3 AS SELECT 'public.g6_r'::regclass AS r;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
RESET ROLE;
SELECT relname FROM pg_class WHERE relname ~ '^g6_(b|v)' ORDER BY 1;
SELECT proname FROM pg_proc WHERE proname LIKE 'g6\_f%' ORDER BY 1;
SELECT count(*) AS policies FROM pg_policy WHERE polname = 'g6_p';
-- The owner's rollback drops the new layout; a second relayout completes
-- and its cleanup drops the old one.
SET ROLE g6_app1;
SELECT steward.migration_rollback('g6_rm');
SELECT steward.migration_start('g6_rm2', '[{"relayout": {"table": "g6_r", "partition_by": "HASH (u)", "partitions": 2}}]');
RESET ROLE;
SET ROLE g6_app3;
\set VERBOSITY terse
CREATE INDEX CONCURRENTLY g6_b7 ON public.g6_own (x) WHERE x::oid <> :'r_table'::regclass::oid;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SET ROLE g6_app1;
CALL steward.migration_backfill('g6_rm2');
SELECT count(*) FILTER (WHERE passed IS NOT false) AS passed, count(*) AS checks FROM steward.migration_validate('g6_rm2');
SELECT steward.migration_complete('g6_rm2');
SELECT steward.migration_cleanup('g6_rm2');
SELECT count(*) AS rows, count(DISTINCT u) AS us FROM public.g6_r;
RESET ROLE;
SELECT relname FROM pg_class WHERE relname LIKE 'g6\_r\_relayout%' ORDER BY 1;

-- 3. An index step's index (a rollback drops it) and an index of a
-- layout (it goes with the layout), named by OID.
SET ROLE g6_app1;
CREATE TABLE public.g6_c (id int PRIMARY KEY, v int);
SELECT steward.migration_start('g6_ix', '[{"create_index": {"table": "g6_c", "name": "g6_c_v", "definition": "(v)"}}]');
CALL steward.migration_backfill('g6_ix');
SELECT steward.migration_start('g6_rm3', '[{"relayout": {"table": "g6_r", "partition_by": "HASH (u)", "partitions": 2}}]');
RESET ROLE;
SELECT 'public.g6_c_v'::regclass::oid AS step_index, 'public.g6_r_relayout_new_pkey'::regclass::oid AS layout_index \gset
SET ROLE g6_app3;
\set VERBOSITY terse
CREATE VIEW public.g6_v4 AS SELECT :'step_index'::regclass AS i;
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX CONCURRENTLY g6_b8 ON public.g6_own (x) WHERE x::oid <> :'step_index'::regclass::oid;
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW public.g6_v5 AS SELECT :'layout_index'::regclass AS i;
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX CONCURRENTLY g6_b9 ON public.g6_own (x) WHERE x::oid <> :'layout_index'::regclass::oid;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SET ROLE g6_app1;
SELECT steward.migration_rollback('g6_ix');
SELECT steward.migration_rollback('g6_rm3');
RESET ROLE;
SELECT relname FROM pg_class WHERE relname IN ('g6_c_v', 'g6_v4', 'g6_v5', 'g6_b8', 'g6_b9', 'g6_r_relayout_new') ORDER BY 1;

-- 4. Variants: another table's policy and a column default made before
-- the start (refused at start); during a relayout, a column of the
-- table's row type and a default naming it by OID (refused at once).
-- (public.g6_r is the second relayout's new layout now: a new OID.)
SELECT 'public.g6_r'::regclass::oid AS r_table \gset
SET ROLE g6_app2;
CREATE POLICY g6_p2 ON public.g6_own2 USING (EXISTS (SELECT 1 FROM public.g6_r WHERE g6_r.id = g6_own2.id));
SET ROLE g6_app1;
\set VERBOSITY terse
SELECT steward.migration_start('g6_rm4', '[{"relayout": {"table": "g6_r", "partition_by": "HASH (u)", "partitions": 2}}]');
\echo :LAST_ERROR_SQLSTATE
SET ROLE g6_app2;
DROP POLICY g6_p2 ON public.g6_own2;
SET ROLE g6_app3;
CREATE TABLE public.g6_d (id int, r regclass DEFAULT :'r_table'::regclass);
SET ROLE g6_app1;
SELECT steward.migration_start('g6_rm4', '[{"relayout": {"table": "g6_r", "partition_by": "HASH (u)", "partitions": 2}}]');
\echo :LAST_ERROR_SQLSTATE
SET ROLE g6_app3;
DROP TABLE public.g6_d;
SET ROLE g6_app1;
SELECT steward.migration_start('g6_rm4', '[{"relayout": {"table": "g6_r", "partition_by": "HASH (u)", "partitions": 2}}]');
SET ROLE g6_app2;
CREATE TABLE public.g6_e (id int, r public.g6_r);
\echo :LAST_ERROR_SQLSTATE
SET ROLE g6_app3;
CREATE TABLE public.g6_d (id int, r regclass DEFAULT :'r_table'::regclass);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SET ROLE g6_app1;
SELECT steward.migration_rollback('g6_rm4');
RESET ROLE;
SELECT relname FROM pg_class WHERE relname IN ('g6_d', 'g6_e', 'g6_r_relayout_new') ORDER BY 1;

-- 5. A drop_index step over an index another role names by OID (made
-- before the start): refused at start (the cleanup's DROP INDEX would be).
SET ROLE g6_app1;
CREATE INDEX g6_c_w ON public.g6_c (v);
RESET ROLE;
SELECT 'public.g6_c_w'::regclass::oid AS drop_index \gset
SET ROLE g6_app3;
CREATE VIEW public.g6_v6 AS SELECT :'drop_index'::regclass AS i;
SET ROLE g6_app1;
SELECT steward.migration_start('g6_dx', '[{"drop_index": {"name": "g6_c_w"}}]');
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'g6_dx';
SET ROLE g6_app3;
DROP VIEW public.g6_v6;
RESET ROLE;

DROP TABLE public.g6_own, public.g6_own2, public.g6_r, public.g6_t, public.g6_c;
REVOKE CREATE ON SCHEMA public FROM g6_app1, g6_app2, g6_app3;
SELECT format('REVOKE CREATE ON DATABASE %I FROM g6_app1, g6_app3', current_database()) \gexec
DROP ROLE g6_app1;
DROP ROLE g6_app2;
DROP ROLE g6_app3;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('g6_cm', 'g6_ci', 'g6_rm', 'g6_rm2', 'g6_ix', 'g6_rm3', 'g6_rm4', 'g6_dx');
\i test/sql/drop_migration_records.sql
