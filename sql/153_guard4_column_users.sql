-- review16 R16-6's other half (closing35 item 1): the statement guard
-- refused CREATE [MATERIALIZED] VIEW over a column a column migration
-- changes by its text only; every other object over such a column -- a
-- _RETURN rule that turns a table into a view, another rule, a BEGIN
-- ATOMIC function, a policy, a trigger's WHEN or UPDATE OF -- was made,
-- and the cleanup (or a rollback) could never drop the column while it
-- stood: another role with SELECT kept the owner's migration from ending.
-- The shape guard now judges the pg_depend rows the statement wrote on a
-- column the migration changes (55006), whatever made them, in a snapshot
-- taken now.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS g4c_app1;
DROP ROLE IF EXISTS g4c_app2;
RESET client_min_messages;
CREATE ROLE g4c_app1;
CREATE ROLE g4c_app2;
GRANT CREATE ON SCHEMA public TO g4c_app1, g4c_app2;
SELECT format('GRANT CREATE ON DATABASE %I TO g4c_app1, g4c_app2', current_database()) \gexec

SET ROLE g4c_app1;
CREATE TABLE public.g4c_cz (id int PRIMARY KEY, a int, b int);
INSERT INTO public.g4c_cz SELECT g, g, g FROM generate_series(1, 10) g;
GRANT SELECT ON public.g4c_cz TO g4c_app2;
SELECT steward.migration_start('g4c_czm', '[{"alter_column": {"table": "g4c_cz", "column": "a", "type": "bigint"}}]');
RESET ROLE;

-- 1. Another role, review16's four inputs: each refused, nothing made.
SET ROLE g4c_app2;
CREATE TABLE public.g4c_rv (id int, a int);
CREATE RULE "_RETURN" AS ON SELECT TO public.g4c_rv DO INSTEAD SELECT id, a FROM public.g4c_cz;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
CREATE TABLE public.g4c_rr2 (id int, a int);
CREATE RULE g4c_r2 AS ON INSERT TO public.g4c_rr2 DO ALSO SELECT a FROM public.g4c_cz;
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION public.g4c_fz() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT sum(a) FROM public.g4c_cz; END;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE public.g4c_pz2 (id int);
CREATE POLICY g4c_pz ON public.g4c_pz2 USING (EXISTS (SELECT a FROM public.g4c_cz));
\echo :LAST_ERROR_SQLSTATE
-- The new column and _steward_side are the migration's too.
CREATE FUNCTION public.g4c_fn() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT sum(_steward_new_a) FROM public.g4c_cz; END;
CREATE FUNCTION public.g4c_fs() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(_steward_side) FROM public.g4c_cz; END;
-- Columns the migration leaves alone pass, and so does a whole-table read.
CREATE FUNCTION public.g4c_fb() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT sum(b) FROM public.g4c_cz; END;
CREATE FUNCTION public.g4c_fc() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM public.g4c_cz; END;
CREATE RULE g4c_r3 AS ON INSERT TO public.g4c_rr2 DO ALSO SELECT b FROM public.g4c_cz;
RESET ROLE;
SELECT c.relname, c.relkind FROM pg_class c WHERE c.relname IN ('g4c_rv', 'g4c_rr2', 'g4c_pz2') ORDER BY 1;
SELECT proname FROM pg_proc WHERE proname LIKE 'g4c\_%' ORDER BY 1;
SELECT rulename FROM pg_rewrite WHERE rulename LIKE 'g4c\_%' ORDER BY 1;
SELECT count(*) AS policies FROM pg_policy WHERE polname = 'g4c_pz';

-- 2. The owner: a trigger's WHEN or UPDATE OF, a policy over the column
-- refused (the cleanup's DROP COLUMN would refuse them); over another
-- column they pass.
SET ROLE g4c_app1;
CREATE FUNCTION public.g4c_tf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER g4c_tw BEFORE UPDATE ON public.g4c_cz FOR EACH ROW WHEN (NEW.a > 0) EXECUTE FUNCTION public.g4c_tf();
CREATE TRIGGER g4c_tu BEFORE UPDATE OF a ON public.g4c_cz FOR EACH ROW EXECUTE FUNCTION public.g4c_tf();
CREATE POLICY g4c_pa ON public.g4c_cz USING (a > 0);
CREATE TRIGGER g4c_tb BEFORE UPDATE OF b ON public.g4c_cz FOR EACH ROW EXECUTE FUNCTION public.g4c_tf();
CREATE POLICY g4c_pb ON public.g4c_cz USING (b > 0);
SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.g4c_cz'::regclass AND NOT tgisinternal ORDER BY 1;
SELECT polname FROM pg_policy WHERE polrelid = 'public.g4c_cz'::regclass ORDER BY 1;
DROP TRIGGER g4c_tb ON public.g4c_cz;
DROP POLICY g4c_pb ON public.g4c_cz;

-- 3. After complete: the new column (now a) and the old one
-- (_steward_old_a), which a rollback and the cleanup drop.
CALL steward.migration_backfill('g4c_czm');
SELECT count(*) FILTER (WHERE passed) AS passed, count(*) AS checks FROM steward.migration_validate('g4c_czm');
SELECT steward.migration_complete('g4c_czm');
SET ROLE g4c_app2;
CREATE FUNCTION public.g4c_f2() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT sum(a) FROM public.g4c_cz; END;
CREATE FUNCTION public.g4c_f3() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT sum(_steward_old_a) FROM public.g4c_cz; END;
RESET ROLE;

-- 4. The cleanup finishes: nothing over the old column was made.
SET ROLE g4c_app1;
SELECT steward.migration_cleanup('g4c_czm');
SELECT attname FROM pg_attribute WHERE attrelid = 'public.g4c_cz'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
-- After it, the column is the table's own again.
SET ROLE g4c_app2;
CREATE FUNCTION public.g4c_f4() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT sum(a) FROM public.g4c_cz; END;
RESET ROLE;

-- 5. In migration_start's own transaction, the owner's later statements
-- are judged on what they write, not on the shapes start made.
SET ROLE g4c_app1;
CREATE TABLE public.g4c_cy (id int PRIMARY KEY, a int, b int);
BEGIN;
SELECT steward.migration_start('g4c_cym', '[{"alter_column": {"table": "g4c_cy", "column": "a", "name": "a2", "type": "bigint"}}]');
CREATE TABLE public.g4c_cyx (id int);
CREATE VIEW public.g4c_cyv AS SELECT id, b FROM public.g4c_cy;
CREATE FUNCTION public.g4c_fy() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT sum(b) FROM public.g4c_cy; END;
COMMIT;
SELECT status FROM steward.migration_runs WHERE name = 'g4c_cym';
CREATE FUNCTION public.g4c_fy2() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT sum(a) FROM public.g4c_cy; END;
SELECT steward.migration_rollback('g4c_cym');
RESET ROLE;

DROP FUNCTION public.g4c_fb(), public.g4c_fc(), public.g4c_f4(), public.g4c_fy(), public.g4c_tf();
DROP VIEW public.g4c_cyv;
DROP TABLE public.g4c_rv, public.g4c_rr2, public.g4c_pz2, public.g4c_cz, public.g4c_cy, public.g4c_cyx;
REVOKE CREATE ON SCHEMA public FROM g4c_app1, g4c_app2;
SELECT format('REVOKE CREATE ON DATABASE %I FROM g4c_app1, g4c_app2', current_database()) \gexec
DROP ROLE g4c_app1;
DROP ROLE g4c_app2;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('g4c_czm', 'g4c_cym');
\i test/sql/drop_migration_records.sql
