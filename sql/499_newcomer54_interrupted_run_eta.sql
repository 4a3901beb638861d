-- newcomer54: steward.transition_progress gave a run_transition whose
-- session was terminated (or cut by a server restart: a 0.1 run across
-- the upgrade) an ETA, as if it were still moving rows; a cancelled run
-- has none.  An interrupted run now has no ETA (its rate and rows left stay).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_state_machine('m499', ARRAY['new', 'paid'], ARRAY['new'], ARRAY['new->paid']);
CREATE TABLE t499 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('t499', 'st', 'm499');
-- What a run leaves when its backend dies after its first batches: its
-- row says running, its pid is gone (0 is no backend's).
INSERT INTO steward.transition_runs
       (relid, state_column, from_state, to_state, rows_total, rows_done,
        batches, pid, started_at, last_batch_at)
VALUES ('t499', 'st', 'new', 'paid', 3000, 1000, 10, 0,
        now() - interval '10 s', now() - interval '5 s');
SELECT status, rows_done, rows_remaining, rows_per_sec, eta
  FROM steward.transition_progress WHERE relid = 't499'::regclass;
DELETE FROM steward.transition_runs WHERE relid = 't499'::regclass;
DROP TABLE t499;
SELECT steward.drop_state_machine('m499');
