-- codereview15 C7: the COMMITs of run_transition (and of the migrations'
-- backfills) ran the caller's deferred triggers, and the rest of a cursor
-- loop of the caller's that runs the CALL, with pg_steward's procedure on
-- top of its counted stack: that code passed for pg_steward's own, so a
-- deferred trigger's call of steward._transition_prepare, which only
-- run_transition may make, opened a run that stayed "running" in
-- steward.transition_runs with nothing to finish it.  Those COMMITs now run
-- that code as the user's (steward._commit): the call is refused (42501).
-- (A trigger the batch's UPDATE fires was refused already: the batch runs
-- the owner's code behind a barrier, review13 R13-8.)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set VERBOSITY default
SET steward.governor_min_calls = 1000000000;   -- no foreground load here
SELECT steward.create_state_machine('r332_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE r332 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'a') USING steward;
SELECT steward.attach_state_machine('r332', 'st', 'r332_m');
INSERT INTO r332 (id) VALUES (1), (2);
CREATE FUNCTION r332_open_run() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT p.run_id FROM steward._transition_prepare('public.r332', 'a', 'b', NULL, 10, NULL) p);
END $$;
-- A trigger the batch's UPDATE fires.
CREATE FUNCTION r332_sneak() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.r332_open_run();
    RETURN NEW;
END $$;
CREATE TRIGGER r332_sneak AFTER UPDATE ON r332 FOR EACH ROW EXECUTE FUNCTION r332_sneak();
CALL steward.run_transition('r332', 'a', 'b');
DROP TRIGGER r332_sneak ON r332;
-- A deferred trigger the caller queued before its CALL: it fires at
-- run_transition's first COMMIT.
CREATE TABLE r332_log (id int);
CREATE FUNCTION r332_late() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'run % opened', r332_open_run();
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER r332_late AFTER INSERT ON r332_log DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION r332_late();
DO $$ BEGIN INSERT INTO r332_log VALUES (1); CALL steward.run_transition('r332', 'a', 'b'); END $$;
-- The rest of the caller's cursor loop (past the 10 rows PL/pgSQL fetched),
-- which the first COMMIT reads to its end.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT g, CASE WHEN g = 12 THEN r332_open_run() END AS run
               FROM generate_series(1, 12) g LOOP
        CALL steward.run_transition('r332', 'a', 'b');
    END LOOP;
END $$;
-- No run stays open, and no row moved.
SELECT status, count(*) FROM steward.transition_runs WHERE relid = 'r332'::regclass
 GROUP BY status ORDER BY status;
SELECT st, count(*) FROM r332 GROUP BY st ORDER BY st;
-- run_transition itself still commits its batches: with the deferred
-- trigger gone, it moves the rows.
DROP TABLE r332_log;
CALL steward.run_transition('r332', 'a', 'b');
SELECT st, count(*) FROM r332 GROUP BY st ORDER BY st;
SELECT status, count(*) FROM steward.transition_runs WHERE relid = 'r332'::regclass
 GROUP BY status ORDER BY status;
DROP TABLE r332;
DROP FUNCTION r332_open_run(), r332_sneak(), r332_late();
SELECT steward.drop_state_machine('r332_m');
RESET steward.governor_min_calls;
