-- review14 R14-1: the shape guard judged the objects of a list of command
-- tags, and CREATE STATISTICS, CREATE CAST, ALTER VIEW ... ALTER COLUMN
-- SET DEFAULT and CREATE FOREIGN TABLE over a shape view's row type
-- passed: made by another role they held the owner's rollback.  The
-- guard now fires for every tag and judges every pg_depend row the
-- transaction wrote that refers to a shape view, a column of it, its row
-- type or that type's array (55006, naming the object).  What uses no
-- shape is still made, also in the migration's own transaction.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS g2d_app1;
DROP ROLE IF EXISTS g2d_app2;
RESET client_min_messages;
CREATE ROLE g2d_app1;
CREATE ROLE g2d_app2;
GRANT CREATE ON SCHEMA public TO g2d_app1, g2d_app2;
SELECT format('GRANT CREATE ON DATABASE %I TO g2d_app1', current_database()) \gexec
CREATE FOREIGN DATA WRAPPER g2d_fdw;
CREATE SERVER g2d_srv FOREIGN DATA WRAPPER g2d_fdw;
GRANT USAGE ON FOREIGN SERVER g2d_srv TO g2d_app2;

-- The owner starts the migration and, in the same transaction, makes
-- objects of its own that use no shape, and a view of its own in the
-- shapes' schema: the migration's views made in this transaction are not
-- counted against them.
SET ROLE g2d_app1;
CREATE TABLE public.g2d (id int PRIMARY KEY, a int, b int);
INSERT INTO public.g2d SELECT g, g, g FROM generate_series(1, 10) g;
GRANT SELECT ON public.g2d TO g2d_app2;
BEGIN;
SELECT steward.migration_start('g2d_m', '[{"alter_column": {"table": "g2d", "column": "a", "name": "a2", "type": "bigint"}}]');
CREATE TABLE public.g2d_own (id int);
CREATE VIEW g2d_m.g2d_mine AS SELECT 1 AS x;
COMMIT;
DROP VIEW g2d_m.g2d_mine;
RESET ROLE;

-- Another role with SELECT only: review14's four forms, each refused.
SET ROLE g2d_app2;
CREATE TABLE public.g2d_t4 (id int, t text);
CREATE STATISTICS public.g2d_st ON ((ROW(id, 1, 1)::g2d_m.g2d).id), id FROM public.g2d_t4;
\echo :LAST_ERROR_SQLSTATE
CREATE STATISTICS public.g2d_st2 (ndistinct) ON id, ((ROW(id, 1, 1)::g2d_m_old.g2d).a) FROM public.g2d_t4;
CREATE TYPE public.g2d_e AS ENUM ('x');
CREATE CAST (g2d_m.g2d AS public.g2d_e) WITH INOUT;
\echo :LAST_ERROR_SQLSTATE
CREATE CAST (public.g2d_e AS g2d_m_old.g2d) WITH INOUT;
CREATE VIEW public.g2d_v AS SELECT id, NULL::text AS t FROM public.g2d_t4;
ALTER VIEW public.g2d_v ALTER COLUMN t SET DEFAULT (NULL::g2d_m.g2d)::text;
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE public.g2d_ft (x g2d_m.g2d) SERVER g2d_srv;
\echo :LAST_ERROR_SQLSTATE
-- Variants: an aggregate over the row type (no function of the user's
-- over it needed), a composite type, an attribute of the array type, a
-- rule, a materialized view, a view replaced to read the row type.
CREATE AGGREGATE public.g2d_agg(g2d_m.g2d) (sfunc = array_append, stype = g2d_m.g2d[]);
CREATE TYPE public.g2d_c AS (x g2d_m.g2d);
CREATE TYPE public.g2d_c2 AS (x int);
ALTER TYPE public.g2d_c2 ADD ATTRIBUTE y g2d_m_old.g2d[];
CREATE TABLE public.g2d_log (id int);
CREATE RULE g2d_r AS ON INSERT TO public.g2d_log DO ALSO SELECT (NULL::g2d_m.g2d);
CREATE MATERIALIZED VIEW public.g2d_mv AS SELECT * FROM g2d_m.g2d;
CREATE VIEW public.g2d_v2 AS SELECT 1 AS x;
CREATE OR REPLACE VIEW public.g2d_v2 AS SELECT 1 AS x, NULL::g2d_m_old.g2d AS y;
-- In a subtransaction and in a function's EXCEPTION block: refused, and
-- the object is gone with it.
BEGIN;
SAVEPOINT s;
CREATE CAST (g2d_m.g2d AS public.g2d_e) WITH INOUT;
ROLLBACK TO s;
CREATE STATISTICS public.g2d_ok ON id, t FROM public.g2d_t4;
COMMIT;
DO $$
BEGIN
    EXECUTE 'CREATE CAST (g2d_m.g2d AS public.g2d_e) WITH INOUT';
EXCEPTION WHEN object_in_use THEN
    RAISE NOTICE 'refused: %', SQLERRM;
END
$$;
-- What uses no shape is still made and changed.
ALTER STATISTICS public.g2d_ok SET STATISTICS 10;
COMMENT ON STATISTICS public.g2d_ok IS 'kept';
COMMENT ON TABLE public.g2d_t4 IS 'kept';
ALTER VIEW public.g2d_v ALTER COLUMN t SET DEFAULT 'x';
RESET ROLE;
SELECT count(*) AS casts FROM pg_cast c JOIN pg_type t ON t.oid IN (c.castsource, c.casttarget)
 WHERE t.typname = 'g2d_e';
SELECT stxname FROM pg_statistic_ext WHERE stxrelid = 'public.g2d_t4'::regclass ORDER BY 1;

-- The owner rolls back: nothing holds the shapes.
SET ROLE g2d_app1;
SELECT steward.migration_rollback('g2d_m');
SELECT count(*) AS shape_views_left FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('g2d_m', 'g2d_m_old');
RESET ROLE;

DROP VIEW public.g2d_v, public.g2d_v2;
DROP TABLE public.g2d_t4, public.g2d_log, public.g2d_own, public.g2d;
DROP TYPE public.g2d_e, public.g2d_c2;
DROP SERVER g2d_srv;
DROP FOREIGN DATA WRAPPER g2d_fdw;
REVOKE CREATE ON SCHEMA public FROM g2d_app1, g2d_app2;
SELECT format('REVOKE CREATE ON DATABASE %I FROM g2d_app1', current_database()) \gexec
DROP ROLE g2d_app1;
DROP ROLE g2d_app2;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('g2d_m');
\i test/sql/drop_migration_records.sql
