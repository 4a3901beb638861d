-- codereview3 #3, #4, #5 and closing35 item 2: the shape guard judges each
-- pg_depend row of a transaction once, from a watermark (the WAL position
-- and command ID it judged up to: the pages not written since are not
-- read), so statements before, after and around a refused one, in the same
-- transaction, in a savepoint, and after a VACUUM of pg_depend, are judged
-- as before; a rule on a shape view that builds the view's own rows
-- (ROW(...)::view, an array of them) goes with the view and is made.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS s4_a;
RESET client_min_messages;
CREATE ROLE s4_a;
GRANT CREATE ON SCHEMA public TO s4_a;
SELECT format('GRANT CREATE ON DATABASE %I TO s4_a', current_database()) \gexec

SET ROLE s4_a;
CREATE TABLE public.s4_t (id int PRIMARY KEY, a int);
INSERT INTO public.s4_t SELECT g, g FROM generate_series(1, 10) g;
SELECT steward.migration_start('s4_m', '[{"alter_column": {"table": "s4_t", "column": "a", "type": "bigint"}}]');

-- codereview3 #5: rules on the shape view building its own row type or
-- an array of it: made (they go with the view)
CREATE RULE s4_r1 AS ON UPDATE TO s4_m.s4_t DO ALSO SELECT (ROW(NEW.id, NEW.a)::s4_m.s4_t).id;
\echo :LAST_ERROR_SQLSTATE
CREATE RULE s4_r2 AS ON DELETE TO s4_m.s4_t DO ALSO SELECT ARRAY[ROW(OLD.id, OLD.a)::s4_m.s4_t];
\echo :LAST_ERROR_SQLSTATE
SELECT rulename FROM pg_rewrite WHERE ev_class = 's4_m.s4_t'::regclass ORDER BY 1;
-- the other shape's row type in such a rule: refused
CREATE RULE s4_r3 AS ON UPDATE TO s4_m.s4_t DO ALSO SELECT (ROW(NEW.id, NEW.a::int)::s4_m_old.s4_t).id;
\echo :LAST_ERROR_SQLSTATE

-- codereview3 #3: one transaction, many statements, the refused one among
-- them (its row on a page earlier statements of the transaction wrote)
RESET ROLE;
VACUUM pg_catalog.pg_depend;
SET ROLE s4_a;
BEGIN;
CREATE FUNCTION public.s4_f1() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE TABLE public.s4_x1 (id int);
CREATE VIEW public.s4_v1 AS SELECT id FROM public.s4_x1;
SAVEPOINT a;
CREATE VIEW public.s4_bad1 AS SELECT id FROM s4_m.s4_t;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK TO SAVEPOINT a;
CREATE FUNCTION public.s4_f2() RETURNS int LANGUAGE sql AS 'SELECT 2';
SAVEPOINT b;
CREATE FUNCTION public.s4_bad2(s4_m.s4_t) RETURNS int LANGUAGE sql AS 'SELECT 1';
\echo :LAST_ERROR_SQLSTATE
ROLLBACK TO SAVEPOINT b;
-- a statement after a judged one, in a subtransaction that commits
SAVEPOINT c;
CREATE TABLE public.s4_x2 (id int);
RELEASE SAVEPOINT c;
CREATE TABLE public.s4_bad3 (r s4_m_old.s4_t);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- the first statement of the next transactions
CREATE TABLE public.s4_bad4 (r s4_m.s4_t[]);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE public.s4_ok (id int);
CREATE DOMAIN public.s4_bad5 AS s4_m.s4_t;
\echo :LAST_ERROR_SQLSTATE
-- a refused statement caught by a PL/pgSQL handler (its subtransaction
-- and rows gone, no watermark moved): the next statement is judged
DO $$
BEGIN
    BEGIN
        EXECUTE 'CREATE VIEW public.s4_bad6 AS SELECT a FROM s4_m.s4_t';
    EXCEPTION WHEN object_in_use THEN
        RAISE NOTICE 'refused: %', SQLSTATE;
    END;
    EXECUTE 'CREATE VIEW public.s4_bad7 AS SELECT id FROM s4_m_old.s4_t';
END
$$;
\echo :LAST_ERROR_SQLSTATE
SELECT c.relname FROM pg_class c WHERE c.relname LIKE 's4\_%' AND c.relnamespace = 'public'::regnamespace ORDER BY 1;

-- closing35 item 2 (the sql_drop handler's refusal of the shapes' schema
-- is in regress 130): a temporary table's drop, another schema's drop pass
CREATE TEMP TABLE s4_tmp (a int);
DROP TABLE s4_tmp;
CREATE SCHEMA s4_other;
DROP SCHEMA s4_other;
SELECT steward.migration_rollback('s4_m');
SELECT nspname FROM pg_namespace WHERE nspname LIKE 's4\_m%' ORDER BY 1;
RESET ROLE;

DROP TABLE public.s4_t, public.s4_ok;
REVOKE CREATE ON SCHEMA public FROM s4_a;
SELECT format('REVOKE CREATE ON DATABASE %I FROM s4_a', current_database()) \gexec
DROP ROLE s4_a;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name = 's4_m';
\i test/sql/drop_migration_records.sql
