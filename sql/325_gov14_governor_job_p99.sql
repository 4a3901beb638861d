-- The governor slowed a job down for every 5-s window whose p99 ratio
-- was over the target, however much room the job's whole run had left:
-- run_transition of 1M rows held each window near 1.3 while whole runs
-- landed anywhere in 0.96-1.47, half of them at 16-17k rows/s
-- (test/bench/governor/results-aba-gov13.md).  With
-- steward.governor_job_p99 (on) a window over the target slows the job
-- down only when the foreground's p99 since the job began is over it too,
-- or the window is past half way to the critical ratio; otherwise it
-- holds.  The critical pause stays on the window.  And a WAL-wait
-- baseline of 0 had no floor (steward.governor_wal_wait_floor, gov14).
-- In a trace job_p99_ratio is the run so far (NULL: not known yet, the
-- window decides alone) and wal_wait_ms the window's WAL wait per
-- statement against a baseline of 0.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = on;
SET steward.governor_target_p99_ratio = 1.3;
SET steward.governor_critical_p99_ratio = 3;
SET steward.governor_min_calls = 50;       -- the default (test/regress.conf raises it)

SHOW steward.governor_job_p99;
SHOW steward.governor_wal_wait_floor;

-- A window of 1.5 (over the target) while the run so far is at 1.1: the
-- job holds (step 11), and goes on increasing when windows are back under
-- (step 16).
SELECT step, decision, reason, throttled_by, duty
  FROM steward.governor_trace(ARRAY[1, 1, 1, 1, 1, 1, 1.2, 1.2, 1.2, 1.2, 1.5, 1.5, 1.5, 1.5, 1.5, 1.2]::float8[],
                              job_p99_ratio => ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, 1, 1, 1, 1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1]::float8[])
 WHERE step >= 6;

-- The same windows with governor_job_p99 off (the rule before gov14):
-- the window over the target decreases at once (step 11).
SET steward.governor_job_p99 = off;
SELECT step, decision, reason, throttled_by, duty
  FROM steward.governor_trace(ARRAY[1, 1, 1, 1, 1, 1, 1.2, 1.2, 1.2, 1.2, 1.5, 1.5, 1.5, 1.5, 1.5, 1.2]::float8[],
                              job_p99_ratio => ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, 1, 1, 1, 1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1]::float8[])
 WHERE step >= 6;
RESET steward.governor_job_p99;

-- The run so far over the target: a window over it decreases.
SELECT step, decision, reason, duty
  FROM steward.governor_trace(ARRAY[1, 1, 1, 1, 1, 1, 1.5]::float8[],
                              job_p99_ratio => ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, 1.35]::float8[])
 WHERE step >= 6;

-- A window past half way from the target to the critical ratio (2.15)
-- decreases whatever the run so far; one at the critical ratio pauses.
SELECT step, decision, reason, duty
  FROM steward.governor_trace(ARRAY[1, 1, 1, 1, 1, 1, 2.2]::float8[],
                              job_p99_ratio => ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, 1]::float8[])
 WHERE step >= 6;
SELECT step, decision, reason, duty
  FROM steward.governor_trace(ARRAY[1, 1, 1, 1, 1, 1, 3]::float8[],
                              job_p99_ratio => ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, 1]::float8[])
 WHERE step >= 6;

-- The run so far not known yet: the window alone decides, as before.
SELECT step, decision, reason, duty
  FROM steward.governor_trace(ARRAY[1, 1, 1, 1, 1, 1, 1.5]::float8[])
 WHERE step >= 6;

-- WAL waits against a baseline of 0: 0.06 ms a statement is under the
-- floor (0.05 ms) x 1.3 and no decrease; before gov14 any wait 0.05 ms
-- over 0 decreased (and halved the batch), as a floor of 0 still does.
-- 0.2 ms is over the floor.
SELECT step, decision, reason, duty, batch_size
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[7]),
                              wal_wait_ms => ARRAY[0, 0, 0, 0, 0, 0.06, 0.2])
 WHERE step >= 5;
SET steward.governor_wal_wait_floor = 0;
SELECT step, decision, reason, duty, batch_size
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[7]),
                              wal_wait_ms => ARRAY[0, 0, 0, 0, 0, 0.06, 0.2])
 WHERE step >= 5;
RESET steward.governor_wal_wait_floor;

-- Every signal one element per tick.
SELECT count(*) FROM steward.governor_trace(ARRAY[1, 1]::float8[], job_p99_ratio => ARRAY[1]::float8[]);
SELECT count(*) FROM steward.governor_trace(ARRAY[1, 1]::float8[], wal_wait_ms => ARRAY[NULL, 1]::float8[]);

-- Superusers only, as the other governor settings.
CREATE ROLE r325_plain;
SET ROLE r325_plain;
SET steward.governor_job_p99 = off;
SET steward.governor_wal_wait_floor = '1ms';
RESET ROLE;
DROP ROLE r325_plain;
