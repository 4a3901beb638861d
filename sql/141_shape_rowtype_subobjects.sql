-- review13 R13-4: objects that use a shape view's row type through an
-- expression of a table's sub-object (a default, a generated column, a
-- CHECK constraint, an index expression, a trigger's WHEN) or a domain's
-- constraint were accepted by the ddl_command_end guard, and made by
-- another role they held the owner's rollback and cleanup until that
-- role or a superuser dropped them.  Each is refused when made (55006),
-- naming the object; the owner then rolls back.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS srs_app1;
DROP ROLE IF EXISTS srs_app2;
RESET client_min_messages;
CREATE ROLE srs_app1;
CREATE ROLE srs_app2;
GRANT CREATE ON SCHEMA public TO srs_app1, srs_app2;
SELECT format('GRANT CREATE ON DATABASE %I TO srs_app1', current_database()) \gexec

SET ROLE srs_app1;
CREATE TABLE public.srs (id int PRIMARY KEY, a int, b int);
INSERT INTO public.srs SELECT g, g, g FROM generate_series(1, 10) g;
GRANT SELECT ON public.srs TO srs_app2;
SELECT steward.migration_start('srs_m', '[{"alter_column": {"table": "srs", "column": "a", "name": "a2", "type": "bigint"}}]');
RESET ROLE;

-- Another role with SELECT only: every form refused.
SET ROLE srs_app2;
CREATE TABLE public.srs_t (id int, t text);
ALTER TABLE public.srs_t ALTER COLUMN t SET DEFAULT (NULL::srs_m.srs)::text;
ALTER TABLE public.srs_t ADD CONSTRAINT c1 CHECK ((NULL::srs_m.srs) IS NULL);
ALTER TABLE public.srs_t ADD COLUMN g text GENERATED ALWAYS AS ((NULL::srs_m.srs)::text) STORED;
CREATE INDEX srs_t_idx ON public.srs_t (((ROW(id, 1, 1)::srs_m_old.srs).id));
CREATE TABLE public.srs_t2 (id int, t text DEFAULT (NULL::srs_m.srs)::text);
CREATE TABLE public.srs_t3 (id int CHECK ((NULL::srs_m.srs) IS NULL));
CREATE FUNCTION public.srs_trf() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER srs_trw BEFORE INSERT ON public.srs_t FOR EACH ROW WHEN ((NULL::srs_m.srs) IS NULL)
    EXECUTE FUNCTION public.srs_trf();
CREATE DOMAIN public.srs_d AS int;
ALTER DOMAIN public.srs_d ADD CONSTRAINT dc CHECK ((NULL::srs_m.srs) IS NULL);
-- What does not use a shape is still made.
ALTER TABLE public.srs_t ADD CONSTRAINT c2 CHECK (id > 0);
CREATE INDEX srs_t_id ON public.srs_t (id);
RESET ROLE;

-- The owner rolls back: nothing holds the shapes.
SET ROLE srs_app1;
SELECT steward.migration_rollback('srs_m');
SELECT count(*) AS shape_views_left FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('srs_m', 'srs_m_old');
RESET ROLE;
SELECT conname FROM pg_constraint WHERE conrelid = 'public.srs_t'::regclass ORDER BY 1;

DROP TABLE public.srs_t, public.srs;
DROP FUNCTION public.srs_trf();
DROP DOMAIN public.srs_d;
REVOKE CREATE ON SCHEMA public FROM srs_app1, srs_app2;
SELECT format('REVOKE CREATE ON DATABASE %I FROM srs_app1', current_database()) \gexec
DROP ROLE srs_app1;
DROP ROLE srs_app2;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('srs_m');
\i test/sql/drop_migration_records.sql
