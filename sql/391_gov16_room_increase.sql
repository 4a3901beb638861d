-- A job past slow start added a twentieth of the time per 5-s window
-- however much room the foreground left: a backfill that slow start left
-- at a tenth, taken down to 2% by a few noisy windows, spent most of its
-- run at 6-30% of the time with the foreground's p99 at 0.9-1.2x of its
-- baseline (issue 18, test/bench/governor/results-aba-gov16.md).  Since
-- gov16 (steward.governor_room_increase, on) an increase adds half the
-- duty (at least a twentieth) while the window's p99 ratio and the job's
-- run so far both leave half the room below the target unused (<= 1.15 at
-- a target of 1.3); nearer the target it adds a twentieth as before.
-- steward.governor_trace() runs the rule over given signals: one p99
-- ratio per 1-s tick, window 5 s, target 1.3.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;   -- when run alone
RESET client_min_messages;
SET steward.governor = on;
SET steward.governor_target_p99_ratio = 1.3;
SET steward.governor_critical_p99_ratio = 3;
SET steward.governor_max_batch = 10000;
SET steward.governor_min_calls = 50;       -- the default (test/regress.conf raises it)

SHOW steward.governor_room_increase;

-- Slow start doubles to 0.4 (steps 6, 11); 15 s over the target take the
-- job back to 0.2 (the overshoot of the increase), then x0.7 and x0.5
-- down to 0.07 (step 23); then 60 s with the foreground at its baseline:
-- the job climbs back by half its duty per window (0.12, 0.18, 0.27,
-- 0.405, 0.608, 0.911, 1 at step 58), where the rule before added 0.05 a
-- window (0.67 at step 83, the second query).
CREATE TABLE pg_temp.sig AS
SELECT array_fill(1.0::float8, ARRAY[12]) || array_fill(2.0::float8, ARRAY[15])
       || array_fill(1.0::float8, ARRAY[60]) AS ratio;
SELECT step, decision, reason, round(duty::numeric, 3) AS duty
  FROM steward.governor_trace((SELECT ratio FROM pg_temp.sig))
 WHERE decision <> 'hold' AND decision <> 'pause';
SET steward.governor_room_increase = off;
SELECT step, decision, reason, round(duty::numeric, 3) AS duty
  FROM steward.governor_trace((SELECT ratio FROM pg_temp.sig))
 WHERE decision = 'increase' AND step > 27;
RESET steward.governor_room_increase;

-- Nearer the target (a window at 1.2: under 1.3, over 1.15) the step stays
-- a twentieth: 0.1 -> 0.15 -> 0.2 -> 0.25 (slow start ended at the first
-- tick over 1.15).
SELECT step, decision, round(duty::numeric, 3) AS duty
  FROM steward.governor_trace(array_fill(1.2::float8, ARRAY[20]))
 WHERE decision = 'increase';

-- The window at 1.0 but the job's run so far at 1.2: a twentieth too
-- (slow start off, so that only the increase's step shows); with the run
-- so far at 1.1, half the duty (0.1 -> 0.15 -> 0.225 -> 0.338).
SET steward.governor_slow_start = off;
SELECT step, round(duty::numeric, 3) AS duty_run_1_2,
       (SELECT round(duty::numeric, 3)
          FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[20]),
                                      job_p99_ratio => array_fill(1.1::float8, ARRAY[20])) b
         WHERE b.step = a.step) AS duty_run_1_1
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[20]),
                              job_p99_ratio => array_fill(1.2::float8, ARRAY[20])) a
 WHERE decision = 'increase';
RESET steward.governor_slow_start;

-- An increase that takes the window over the target is still undone at
-- the next tick (gov1): from 0.608 to 0.911 at step 53, over at 54, back
-- to 0.608.
SELECT step, decision, reason, round(duty::numeric, 3) AS duty
  FROM steward.governor_trace((SELECT ratio[1:53] FROM pg_temp.sig) || ARRAY[1.5, 1.0, 1.0]::float8[])
 WHERE step BETWEEN 52 AND 56 AND decision <> 'hold';

-- The guarantees stay: no foreground (NULL ratios) is full speed at once,
-- and an explicit max_rows_per_sec still caps the pace however much the
-- duty grows (batches of 1000 rows at 0.01 ms a row: 1000 rows a second).
SELECT step, decision, reason, duty
  FROM steward.governor_trace((SELECT ratio[1:40] FROM pg_temp.sig) || ARRAY[NULL, NULL]::float8[])
 WHERE step > 40;
SELECT max(rows_per_sec) AS max_rows_per_sec, max(duty) AS max_duty
  FROM steward.governor_trace((SELECT ratio FROM pg_temp.sig), max_rows_per_sec => 1000);

-- Superusers only, as the other governor settings.
CREATE ROLE r391_plain;
SET ROLE r391_plain;
SET steward.governor_room_increase = off;
RESET ROLE;
DROP ROLE r391_plain;
