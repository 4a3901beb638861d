-- closing38 item 5 (guard12): migration_start's probe of each up
-- expression (sql/193) runs in a subtransaction that is rolled back: what
-- an up writes (a log row) and the locks it takes are not kept by the
-- start, which holds ACCESS EXCLUSIVE on the table until it commits; the
-- dual-write trigger still runs up at each write from start on.  A
-- non-superuser owner; an alter_column and an add_column step in one
-- migration (two probes).  (Column migrations of partitioned tables are
-- refused at start.)
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS g12p_app;
RESET client_min_messages;
SET steward.governor = off;
CREATE ROLE g12p_app;
GRANT CREATE ON SCHEMA public TO g12p_app;
SELECT format('GRANT CREATE ON DATABASE %I TO g12p_app', current_database()) \gexec
SET ROLE g12p_app;

CREATE TABLE g12p_log(n int, what text);
CREATE FUNCTION g12p_logged(v int, what text) RETURNS bigint LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO public.g12p_log VALUES (v, what);
    RETURN v * 100;
END $$;
CREATE TABLE g12p_inv(id int PRIMARY KEY, amt int);
INSERT INTO g12p_inv VALUES (1, 5), (2, 7);
-- upvol49: a function declared VOLATILE (CREATE FUNCTION's default; one
-- that writes must be) is refused in an up at start; one declared STABLE
-- is accepted on its word, and may still call it: the defence below
-- holds for that.
SELECT steward.migration_start('g12p_vol', $$[
  {"add_column": {"table": "g12p_inv", "column": "tag", "type": "bigint", "up": "g12p_logged(amt, 'added')"}}]$$);
CREATE FUNCTION g12p_logged_s(v int, what text) RETURNS bigint LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog AS 'BEGIN RETURN public.g12p_logged(v, what); END';

-- two probes (a pair and an added column), in one transaction: no row of
-- g12p_log and no lock on it is left by the start
BEGIN;
SELECT steward.migration_start('g12p_two', $$[
  {"alter_column": {"table": "g12p_inv", "column": "amt", "type": "bigint",
                    "up": "g12p_logged_s(amt, 'pair')", "down": "(amt / 100)::int"}},
  {"add_column": {"table": "g12p_inv", "column": "tag", "type": "bigint", "up": "g12p_logged_s(amt, 'added')"}}]$$);
SELECT string_agg(mode, ', ') AS locks_on_log FROM pg_locks
 WHERE locktype = 'relation' AND relation = 'g12p_log'::regclass AND pid = pg_backend_pid();
SELECT count(*) AS logged_by_start FROM g12p_log;
COMMIT;
SELECT count(*) AS logged_after_commit FROM g12p_log;
-- the trigger runs up at each write: logged once per up
INSERT INTO g12p_inv VALUES (3, 9);
SELECT n, what FROM g12p_log ORDER BY what;
SELECT steward.migration_rollback('g12p_two');
TRUNCATE g12p_log;

-- a failing up still refuses the start with its SQLSTATE (sql/193), and
-- nothing it wrote before failing is left
CREATE FUNCTION g12p_fails(v int) RETURNS bigint LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO public.g12p_log VALUES (v, 'before failing');
    RETURN v / 0;
END $$;
CREATE FUNCTION g12p_fails_s(v int) RETURNS bigint LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog AS 'BEGIN RETURN public.g12p_fails(v); END';
TRUNCATE g12p_log;
SELECT steward.migration_start('g12p_fail', $$[
  {"add_column": {"table": "g12p_inv", "column": "per", "type": "bigint", "up": "g12p_fails_s(amt)"}}]$$);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS logged FROM g12p_log;
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'g12p_fail';
SELECT current_user;

DROP TABLE g12p_inv, g12p_log;
DROP FUNCTION g12p_logged_s(int, text), g12p_logged(int, text);
DROP FUNCTION g12p_fails_s(int), g12p_fails(int);
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM g12p_app;
SELECT format('REVOKE CREATE ON DATABASE %I FROM g12p_app', current_database()) \gexec
DROP ROLE g12p_app;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name LIKE 'g12p\_%';
\i test/sql/drop_migration_records.sql
