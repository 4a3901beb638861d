-- priv1 (stop 42): steward._transition_prepare, callable by PUBLIC as every
-- internal function run_transition calls as the caller, opened a run when
-- called directly: a row 'running' in steward.transition_runs that no CALL
-- moved or finished and nothing removed.  _transition_progress with a NULL
-- status opened a finished run again the same way.  Both now refuse (42501)
-- any caller but steward.run_transition, after the arguments, the table
-- and its owner are checked; run_transition itself is unchanged.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor_min_calls = 1000000000;   -- this test's statements are no foreground load
CREATE ROLE r314_owner;
CREATE SCHEMA r314 AUTHORIZATION r314_owner;
SET ROLE r314_owner;
CREATE TABLE r314.t (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('r314.t', 'status', 'data_lifecycle');
INSERT INTO r314.t (id) SELECT g FROM generate_series(1, 5) g;
-- The table's owner calling the helper directly: refused, no run left.
SELECT * FROM steward._transition_prepare('r314.t', 'new', 'pending_backfill', NULL, 10, NULL);
SELECT count(*) AS runs FROM steward.transition_runs WHERE relid = 'r314.t'::regclass;
-- Its own checks still come first: a wrong edge is 22023, as before.
SELECT * FROM steward._transition_prepare('r314.t', 'new', 'switched', NULL, 10, NULL);
\echo :LAST_ERROR_SQLSTATE
-- run_transition opens, moves and finishes its run as before.
CALL steward.run_transition('r314.t', 'new', 'pending_backfill', batch_size => 2);
SELECT rows_done, rows_remaining, status FROM steward.transition_progress
 WHERE relid = 'r314.t'::regclass;
SELECT id AS run314 FROM steward.transition_runs WHERE relid = 'r314.t'::regclass \gset
-- A finished run is not opened again by hand.
SELECT steward._transition_progress(:run314, 0, 0, NULL);
SELECT status, finished_at IS NOT NULL AS finished FROM steward.transition_runs
 WHERE id = :run314;
RESET ROLE;
-- Nor by a superuser: the row would stay 'running' as well.
SELECT * FROM steward._transition_prepare('r314.t', 'pending_backfill', 'backfilled', NULL, 10, NULL);
DO $$ BEGIN PERFORM steward._transition_progress(
    (SELECT max(id) FROM steward.transition_runs WHERE relid = 'r314.t'::regclass), 0, 0, NULL); END $$;
SELECT count(*) AS runs, count(*) FILTER (WHERE finished_at IS NULL) AS open
  FROM steward.transition_runs WHERE relid = 'r314.t'::regclass;
CALL steward.run_transition('r314.t', 'pending_backfill', 'backfilled');
SELECT status, count(*) FROM r314.t GROUP BY 1;
DROP SCHEMA r314 CASCADE;
DROP ROLE r314_owner;
