-- gov6 (codereview9 L2): who may register a governed job.  A tick in which
-- a job works is kept out of every job's baseline, so registering a job
-- reaches the other roles' jobs.  steward.governor_begin, governor_pace
-- and governor_end stay executable by PUBLIC: docs/governor.md documents
-- backfills of one's own paced through them, and run_transition and the migration
-- backfills call them as their caller (a table's owner, no superuser).
-- What one role's job does to the others is capped instead: it counts as
-- working in a tick only when it was busy for 2% of it (TAP 105), it holds
-- at most 16 of the 64 listed entries (53400), and its label shows only to
-- its role and pg_read_all_stats (35).  Drills stay with superusers.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE gov6_plain;

-- Every function of the governor, and whether a plain role may run it.
SELECT p.oid::regprocedure AS function,
       has_function_privilege('gov6_plain', p.oid, 'EXECUTE') AS plain_may_run,
       p.prosecdef AS security_definer
  FROM pg_proc p
 WHERE p.pronamespace = 'steward'::regnamespace
   AND p.proname ~ '^_?governor'
 ORDER BY p.oid::regprocedure::text COLLATE "C";

-- A plain role begins, paces and ends a job of its own.
SET ROLE gov6_plain;
CREATE FUNCTION pg_temp.own_job() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    j bigint := steward.governor_begin('backfill', 'gov6 own job', 100);
    n integer := steward.governor_pace(j, 0);
    s text;
BEGIN
    SELECT state INTO s FROM steward.governor_jobs WHERE job_id = j;
    PERFORM steward.governor_end(j, 'finished');
    RETURN format('paced: %s, listed: %s, then %s', n >= 0, s IS NOT NULL,
                  (SELECT state FROM steward.governor_jobs WHERE job_id = j));
END $$;
SELECT pg_temp.own_job();
DROP FUNCTION pg_temp.own_job();
-- Not a drill.
SELECT steward.governor_simulate(5);
RESET ROLE;

-- The owner of a table, no superuser, runs run_transition on it: a
-- governed job begun as that owner.
CREATE SCHEMA gov6 AUTHORIZATION gov6_plain;
SET ROLE gov6_plain;
SELECT steward.create_state_machine('gov6_flow', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE gov6.items (id int PRIMARY KEY, status text NOT NULL) USING steward;
INSERT INTO gov6.items SELECT g, 'a' FROM generate_series(1, 10) g;
SELECT steward.attach_state_machine('gov6.items', 'status', 'gov6_flow');
CALL steward.run_transition('gov6.items', 'a', 'b', NULL, 5);
SELECT status, count(*) FROM gov6.items GROUP BY 1;
SELECT kind, label, state, rows_done FROM steward.governor_jobs
 WHERE kind = 'transition' AND label = 'gov6.items';
RESET ROLE;

DROP SCHEMA gov6 CASCADE;
SELECT steward.drop_state_machine('gov6_flow');
DROP ROLE gov6_plain;
