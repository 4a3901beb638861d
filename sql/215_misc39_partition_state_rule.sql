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
CREATE ROLE r215_app;
GRANT CREATE ON SCHEMA public TO r215_app;
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

RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM r215_app;
DROP ROLE r215_app;
