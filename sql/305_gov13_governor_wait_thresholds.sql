-- The governor's WAL and run-queue rules had no threshold of their own
-- (they slowed a job down past their baseline times
-- steward.governor_target_p99_ratio), and a run-queue baseline of 0 (CPUs
-- never all busy while no job ran) made any wait over 0.03 ms a statement
-- a decrease.  steward.governor_wait_ratio (0: the target) and
-- steward.governor_cpu_wait_floor (a smaller baseline counts as it) now
-- set them apart (gov13).  In a trace the run-queue baseline is 0.1 ms
-- and cpu_wait_ratio the window's wait over it.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = on;
SET steward.governor_target_p99_ratio = 1.3;
SET steward.governor_critical_p99_ratio = 3;
SET steward.governor_min_calls = 50;       -- the default (test/regress.conf raises it)

SHOW steward.governor_wait_ratio;
SHOW steward.governor_cpu_wait_floor;

-- Defaults: as before, 3x a 0.1-ms baseline slows the job down (step 6).
SELECT step, decision, reason, duty
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[7]),
                              cpu_wait_ratio => ARRAY[1, 1, 1, 1, 1, 3, 1.2])
 WHERE step >= 5;

-- A floor above the baseline: 0.3 ms is under 0.5 ms x 1.3, no decrease;
-- 0.7 ms is over it.
SET steward.governor_cpu_wait_floor = '0.5ms';
SHOW steward.governor_cpu_wait_floor;
SELECT step, decision, reason, duty
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[8]),
                              cpu_wait_ratio => ARRAY[1, 1, 1, 1, 1, 3, 3, 7])
 WHERE step >= 5;
RESET steward.governor_cpu_wait_floor;

-- A wait ratio of its own: at 10 the run-queue wait tripling is no
-- reason, the p99 over the target (1.3) still is.
SET steward.governor_wait_ratio = 10;
SELECT step, decision, reason, duty
  FROM steward.governor_trace(ARRAY[1, 1, 1, 1, 1, 1, 1, 1.5]::float8[],
                              cpu_wait_ratio => ARRAY[1, 1, 1, 1, 1, 3, 3, 3])
 WHERE step >= 5;
-- And the other way round: a target of 10 (only the critical pause, here
-- at 10 too) leaves the run-queue rule at its own ratio.
SET steward.governor_target_p99_ratio = 10;
SET steward.governor_wait_ratio = 1.3;
SELECT step, decision, reason, duty
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[7]),
                              cpu_wait_ratio => ARRAY[1, 1, 1, 1, 1, 3, 1.2])
 WHERE step >= 5;
-- 0 follows the target again: no decrease.
SET steward.governor_wait_ratio = 0;
SELECT step, decision, reason, duty
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[7]),
                              cpu_wait_ratio => ARRAY[1, 1, 1, 1, 1, 3, 1.2])
 WHERE step >= 5;
SET steward.governor_target_p99_ratio = 1.3;
RESET steward.governor_wait_ratio;

-- Superusers only, as the other governor settings.
CREATE ROLE r305_plain;
SET ROLE r305_plain;
SET steward.governor_wait_ratio = 2;
SET steward.governor_cpu_wait_floor = '1ms';
RESET ROLE;
DROP ROLE r305_plain;
