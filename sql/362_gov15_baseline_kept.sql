-- A job that had worked for about a minute under a steady foreground
-- paused to measure a new baseline: its idle ticks from before the job
-- aged out at GOV_BASELINE_MAX_AGE_S (60 s), and the idle ticks measured
-- right after the job worked still paid for its dirty buffers and WAL
-- (run_transition: a transaction p99 of 0.48-0.69 ms against the 0.28 ms
-- of the same load before the job, test/bench/governor/
-- results-aba-gov14.md), so the job went on against a baseline more
-- lenient than the first.  Since gov15 (steward.governor_keep_baseline,
-- on) a baseline older than a minute stands, up to 5 minutes, while the
-- foreground's load stays within a factor of 1.3 of the baseline's; a
-- changed load is measured afresh.  In a trace the baseline is a window's
-- worth of idle ticks taken before step 1, aging one second a step, and
-- load_ratio the foreground's statements a second over the baseline's
-- (left out: unknown, taken as the same).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = on;
SET steward.governor_target_p99_ratio = 1.3;
SET steward.governor_critical_p99_ratio = 3;
SET steward.governor_min_calls = 50;       -- the default (test/regress.conf raises it)

SHOW steward.governor_keep_baseline;

-- The pauses of a trace, one row per run of paused steps.
CREATE FUNCTION pg_temp.pauses(ratio float8, steps int, load_ratio float8[] DEFAULT NULL)
RETURNS TABLE (first_step int, last_step int, reason text)
LANGUAGE sql AS $$
  WITH t AS (SELECT step, decision, reason FROM steward.governor_trace(array_fill(ratio, ARRAY[steps]),
                                                                     load_ratio => load_ratio)),
       g AS (SELECT step, reason, step - row_number() OVER (ORDER BY step)::int AS grp
               FROM t WHERE decision = 'pause')
  SELECT min(step), max(step), min(reason) FROM g GROUP BY grp ORDER BY 1
$$;

-- 90 s of a steady foreground at a ratio of 1.1: no pause at all (before
-- gov15: a measuring_baseline pause from step 56, when the oldest of the
-- baseline's ticks passed a minute).
SELECT * FROM pg_temp.pauses(1.1, 90, array_fill(1.0::float8, ARRAY[90]));
-- The load unknown counts as the same.
SELECT * FROM pg_temp.pauses(1.1, 90);
-- Within the band (1.25x the baseline's statements a second): kept.
SELECT * FROM pg_temp.pauses(1.1, 90, array_fill(1.25::float8, ARRAY[90]));

-- The load changes by 1.5x at step 70, after the baseline is a minute
-- old: the job pauses to measure one under the new load, and goes on
-- when it has a window's worth of idle ticks (three paused decisions
-- before the first).
SELECT * FROM pg_temp.pauses(1.1, 90, array_fill(1.0::float8, ARRAY[69]) || array_fill(1.5::float8, ARRAY[21]));
-- The same change while the baseline is younger than a minute: within
-- GOV_LOAD_FACTOR (2) of it, the baseline stands, as before gov15.
SELECT * FROM pg_temp.pauses(1.1, 40, array_fill(1.0::float8, ARRAY[19]) || array_fill(1.5::float8, ARRAY[21]));

-- While it measures, one idle tick's load is a fifth of the others' (on
-- a shared machine a closed-loop foreground starved of CPU for a second):
-- the tick is left out, and the pause ends a tick later than above
-- (before gov15 it ended the run of idle ticks, and the pause lasted
-- until step 79, five idle ticks after it).
SELECT * FROM pg_temp.pauses(1.1, 90, array_fill(1.0::float8, ARRAY[69]) || array_fill(1.5::float8, ARRAY[5])
                                      || ARRAY[0.3]::float8[] || array_fill(1.5::float8, ARRAY[15]));

-- Kept for at most 5 minutes: then measured afresh.
SELECT * FROM pg_temp.pauses(1.1, 320, array_fill(1.0::float8, ARRAY[320]));

-- steward.governor_keep_baseline = off: the rule before gov15, a pause
-- once the baseline is a minute old, whatever the load, and one idle tick
-- of another load ends the run.
SET steward.governor_keep_baseline = off;
SELECT * FROM pg_temp.pauses(1.1, 90, array_fill(1.0::float8, ARRAY[90]));
RESET steward.governor_keep_baseline;

-- load_ratio has one element per tick, none NULL.
SELECT count(*) FROM steward.governor_trace(ARRAY[1, 1]::float8[], load_ratio => ARRAY[1]::float8[]);
SELECT count(*) FROM steward.governor_trace(ARRAY[1, 1]::float8[], load_ratio => ARRAY[1, NULL]::float8[]);

-- Superusers only, as the other governor settings.
CREATE ROLE r362_plain;
SET ROLE r362_plain;
SET steward.governor_keep_baseline = off;
RESET ROLE;
DROP ROLE r362_plain;
