-- The governor decreases faster (issue 18, the backfill of 1M rows whose
-- clients' p99 stayed 1.7x while the governor held through its
-- overshoots): an overshoot within a window of an increase goes back to
-- the pace before it at the next tick instead of holding for the rest of
-- the window, and a window over the target after a decrease halves the
-- pace (x0.5) instead of x0.7.  steward.governor_trace() runs the rule over
-- given signals: one p99 ratio per 1-s tick, window 5 s (the defaults),
-- target 1.3.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;   -- when run alone
RESET client_min_messages;
\set SHOW_CONTEXT never
SET steward.governor = on;
SET steward.governor_target_p99_ratio = 1.3;
SET steward.governor_critical_p99_ratio = 3;
SET steward.governor_max_batch = 10000;
SET steward.governor_min_calls = 50;
SET steward.governor_slow_start = off;
-- A twentieth per window after slow start whatever the room: the rule these
-- traces pin (steward.governor_room_increase, gov16: sql/391_gov16_room_increase.sql).
SET steward.governor_room_increase = off;

-- Additive increase at steps 6 and 11 (0.1 -> 0.15 -> 0.2); the p99 goes
-- over the target at step 12, a tick after the second increase: the job
-- goes back to 0.15 at once (decrease, p99), where the old rule held at
-- 0.2 until the window settled at step 16.  Then it holds a window at
-- 0.15, and increases again once the foreground is back under the target.
SELECT step, decision, reason, duty
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[11]) || ARRAY[1.5, 1.5]::float8[]
                              || array_fill(1.0::float8, ARRAY[7]))
 WHERE decision <> 'hold' OR step BETWEEN 11 AND 14;

-- Sustained overshoot: the first decrease is x0.7, the next ones x0.5
-- (0.1 -> 0.07 -> 0.035 -> 0.02, the floor, at steps 6, 11, 16, one
-- window apart), then the baseline is measured afresh after three in a
-- row (the old rule: 0.07, 0.049, 0.0343).  A job never starves: the
-- floor stays 2% of the time.
SELECT step, decision, reason, round(duty::numeric, 4) AS duty
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[5]) || array_fill(2.0::float8, ARRAY[12]))
 WHERE decision <> 'hold';
SELECT min(duty) AS floor
  FROM steward.governor_trace(array_fill(2.0::float8, ARRAY[200]));

-- A decrease that brought the foreground back is followed by increases
-- (steps 11 and 16); the overshoot at step 17 undoes the last one, and the
-- first decrease a window later is x0.7 again (0.12 -> 0.084): going back
-- from an increase is not a decrease of the pace the foreground had
-- accepted.
SELECT step, decision, reason, round(duty::numeric, 4) AS duty
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[5]) || array_fill(2.0::float8, ARRAY[1])
                              || array_fill(1.0::float8, ARRAY[10]) || array_fill(2.0::float8, ARRAY[6]))
 WHERE decision <> 'hold';

-- No foreground: full speed at once, whatever the decreases before.
SELECT step, decision, reason, duty
  FROM steward.governor_trace(ARRAY[1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, NULL]::float8[])
 WHERE step = 12;
