-- review22 R1: detach_state_machine and untrack of a partition whose
-- state rule is declared on a partitioned table above it said "has no
-- state machine attached" / "is not tracked" with no way forward (f31a1df
-- pointed to the ancestor for version and sequence rules only).  Now they
-- name the ancestor and the detach that works there; it is run here as
-- written.  A non-superuser owner, two levels of partitions.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
CREATE ROLE r215_app;
GRANT CREATE ON SCHEMA public TO r215_app;
SELECT format('GRANT CREATE ON DATABASE %I TO r215_app', current_database()) \gexec
SET ROLE r215_app;
SELECT steward.create_state_machine('r215_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE "r215 P" (id int PRIMARY KEY, "s't" text, seq int) PARTITION BY LIST (id);
CREATE TABLE r215_p1 PARTITION OF "r215 P" FOR VALUES IN (1, 2) PARTITION BY LIST (id);
CREATE TABLE r215_p11 PARTITION OF r215_p1 FOR VALUES IN (1, 2) USING steward;
SELECT steward.attach_state_machine('"r215 P"', 's''t', 'r215_m');
SELECT steward.track_sequence('"r215 P"', 'seq');
CREATE FUNCTION r215_hint(cmd text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m text;
    d text;
    h text;
BEGIN
    EXECUTE cmd;
    RETURN 'no error';
EXCEPTION WHEN undefined_object THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RETURN concat_ws(E'\n', m, d, h);
END $$;
SELECT r215_hint($$SELECT steward.detach_state_machine('r215_p11', 's''t')$$);
SELECT r215_hint($$SELECT steward.detach_state_machine('r215_p1', 's''t')$$);
SELECT r215_hint($$SELECT steward.untrack('r215_p11', 's''t')$$);
-- the sequence rule keeps its pointer to untrack (f31a1df)
SELECT r215_hint($$SELECT steward.untrack('r215_p11', 'seq')$$);
-- a column without a rule anywhere: the old messages
SELECT r215_hint($$SELECT steward.detach_state_machine('r215_p11', 'id')$$);
SELECT r215_hint($$SELECT steward.untrack('r215_p11', 'id')$$);
-- the HINT's detach, run as written: the rule is gone for every partition
SELECT substring(r215_hint($$SELECT steward.detach_state_machine('r215_p11', 's''t')$$)
                 FROM 'SELECT (steward\.detach_state_machine\(.*\));') AS detach_call \gset
SELECT :detach_call;
INSERT INTO "r215 P" VALUES (1, 'zz', 1);
SELECT relid, attname, kind FROM steward.column_rules WHERE relid::text LIKE '%r215%' ORDER BY 1, 2;
DROP TABLE "r215 P";
DROP FUNCTION r215_hint(text);
SELECT steward.drop_state_machine('r215_m');

-- review22 R6: migration_start's probe of an up runs in a subtransaction
-- that is rolled back; a setting up makes goes with it, a session-level
-- advisory lock it takes does not (core keeps those across a rollback of
-- a subtransaction): docs/migrations.md says so.
CREATE TABLE r215_g (id int PRIMARY KEY, a int) USING steward;
INSERT INTO r215_g VALUES (1, 1);
CREATE FUNCTION r215_gf(i int) RETURNS int LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    PERFORM pg_advisory_lock(215215);
    PERFORM set_config('r215.x', 'probed', false);
    RETURN i * 2;
END $$;
-- upvol49: a function declared VOLATILE (CREATE FUNCTION's default; one
-- that writes must be) is refused in an up at start; one declared STABLE
-- is accepted on its word, and may still call it: the defence below
-- holds for that.
SELECT steward.migration_start('r215_gv', $$[{"add_column": {"table": "r215_g", "column": "a2", "type": "int", "up": "public.r215_gf(id)"}}]$$);
ALTER FUNCTION r215_gf(int) STABLE;
SELECT steward.migration_start('r215_gm', $$[{"add_column": {"table": "r215_g", "column": "a2", "type": "int", "up": "public.r215_gf(id)"}}]$$);
SELECT objid, mode, granted FROM pg_locks
 WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND objid = 215215;
SELECT coalesce(current_setting('r215.x', true), '') AS setting;
SELECT pg_advisory_unlock(215215);
SELECT steward.migration_rollback('r215_gm');
DROP TABLE r215_g;
DROP FUNCTION r215_gf(int);
RESET ROLE;
RESET steward.governor;
REVOKE CREATE ON SCHEMA public FROM r215_app;
SELECT format('REVOKE CREATE ON DATABASE %I FROM r215_app', current_database()) \gexec
DROP ROLE r215_app;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name = 'r215_gm';
\i test/sql/drop_migration_records.sql
