-- review14 R14-4: the shapes' schemas of a column migration belong to the
-- owner of its first table, and the new version of every table's
-- application puts <mig> first on its search_path.  In a migration of two
-- owners' tables, the first (less privileged) owner planted a table and a
-- function there that took the other owner's names and ran as it.  Now an
-- object put in a shapes' schema (made there or moved there) whose owner
-- lacks the rights of an owner of the migration's tables is refused when
-- its statement ends (42501); the migration's views, and objects of a
-- role with every owner's rights, are made.  In a one-owner migration the
-- owner's own views there stay its own; another role given CREATE on the
-- schema is refused.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS g2s_small;
DROP ROLE IF EXISTS g2s_big;
DROP ROLE IF EXISTS g2s_other;
RESET client_min_messages;
CREATE ROLE g2s_small;
CREATE ROLE g2s_big;
CREATE ROLE g2s_other;
GRANT g2s_small TO g2s_big;
GRANT CREATE ON SCHEMA public TO g2s_small, g2s_big, g2s_other;
SELECT format('GRANT CREATE ON DATABASE %I TO g2s_small, g2s_big', current_database()) \gexec

SET ROLE g2s_small;
CREATE TABLE public.g2s_t1 (id int PRIMARY KEY, a int);
INSERT INTO public.g2s_t1 SELECT g, g FROM generate_series(1, 10) g;
CREATE FUNCTION public.g2s_moved(int) RETURNS int LANGUAGE sql AS 'SELECT 0';
SET ROLE g2s_big;
CREATE TABLE public.g2s_t2 (id int PRIMARY KEY, a int);
INSERT INTO public.g2s_t2 SELECT g, g FROM generate_series(1, 10) g;
CREATE TABLE public.payments (id int, amount int);
CREATE FUNCTION public.fee(int) RETURNS int LANGUAGE sql AS 'SELECT $1 / 10';
SELECT steward.migration_start('g2s_m', '[{"alter_column": {"table": "g2s_t1", "column": "a", "type": "bigint"}}, {"alter_column": {"table": "g2s_t2", "column": "a", "type": "bigint"}}]');
RESET ROLE;
SELECT nspname, nspowner::regrole FROM pg_namespace WHERE nspname LIKE 'g2s\_m%' ORDER BY 1;

-- The schemas' owner plants objects that would take g2s_big's names:
-- each refused.
SET ROLE g2s_small;
CREATE TABLE g2s_m.payments (id int, amount int);
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION g2s_m.fee(int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'g2s_small code runs as %', current_user; RETURN 0; END $$;
\echo :LAST_ERROR_SQLSTATE
ALTER FUNCTION public.g2s_moved(int) SET SCHEMA g2s_m;
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW g2s_m_old.payments AS SELECT 1 AS id, 2 AS amount;
CREATE TYPE g2s_m.g2s_ty AS (a int);
CREATE SEQUENCE g2s_m.g2s_seq;
CREATE OPERATOR g2s_m.+ (leftarg = int, rightarg = int, function = int4pl);
-- nor can another role it lets create there
GRANT CREATE, USAGE ON SCHEMA g2s_m TO g2s_other;
SET ROLE g2s_other;
CREATE FUNCTION g2s_m.fee(int) RETURNS int LANGUAGE sql AS 'SELECT 0';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS planted FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('g2s_m', 'g2s_m_old') AND c.relname NOT IN ('g2s_t1', 'g2s_t2');
SELECT count(*) AS planted_functions FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('g2s_m', 'g2s_m_old');

-- g2s_big's new version resolves its own names.
SET ROLE g2s_big;
SET search_path = g2s_m, public;
INSERT INTO payments VALUES (1, 100);
SELECT fee(100) AS fee;
SELECT count(*) AS into_public FROM public.payments;
RESET search_path;
-- a role with every owner's rights may make objects there
CREATE FUNCTION g2s_m.g2s_helper() RETURNS int LANGUAGE sql AS 'SELECT 1';
DROP FUNCTION g2s_m.g2s_helper();
CALL steward.migration_backfill('g2s_m');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('g2s_m');
SELECT steward.migration_complete('g2s_m');
SELECT steward.migration_cleanup('g2s_m');
RESET ROLE;

-- One owner: its own views in the shapes' schema are its own; another
-- role given CREATE there is refused.
SET ROLE g2s_small;
SELECT steward.migration_start('g2s_one', '[{"alter_column": {"table": "g2s_t1", "column": "a", "name": "a1"}}]');
CREATE VIEW g2s_one.g2s_mine AS SELECT id FROM public.g2s_t1;
GRANT CREATE, USAGE ON SCHEMA g2s_one TO g2s_other;
SET ROLE g2s_other;
CREATE TABLE g2s_one.g2s_t1x (id int);
\echo :LAST_ERROR_SQLSTATE
SET ROLE g2s_small;
DROP VIEW g2s_one.g2s_mine;
SELECT steward.migration_rollback('g2s_one');
RESET ROLE;

DROP TABLE public.g2s_t1, public.g2s_t2, public.payments;
DROP FUNCTION public.fee(int), public.g2s_moved(int);
REVOKE CREATE ON SCHEMA public FROM g2s_small, g2s_big, g2s_other;
SELECT format('REVOKE CREATE ON DATABASE %I FROM g2s_small, g2s_big', current_database()) \gexec
DROP ROLE g2s_other;
DROP ROLE g2s_big;
DROP ROLE g2s_small;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('g2s_m', 'g2s_one');
\i test/sql/drop_migration_records.sql
