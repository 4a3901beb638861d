-- The governor (issue 18 section 1): one pacing rule for every background
-- job.  steward.governor_trace() runs the decision rule over given signals
-- (one array element per measurement tick: the foreground's p99 as a
-- ratio of its idle baseline, NULL for no foreground load; replication
-- lag in ms; lock-wait samples the job caused), so the rule is asserted
-- with controlled inputs; row_ms 0.01 = 100000 rows/s at full speed.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;   -- when run alone
RESET client_min_messages;
\set SHOW_CONTEXT never
SET steward.governor = on;
SET steward.governor_target_p99_ratio = 1.3;
SET steward.governor_critical_p99_ratio = 3;
SET steward.governor_max_replication_lag = '10s';
SET steward.governor_max_batch = 10000;
SET steward.governor_min_calls = 50;       -- the default (test/regress.conf raises it)
-- A twentieth per window after slow start whatever the room: the rule these
-- traces pin (steward.governor_room_increase, gov16: sql/391_gov16_room_increase.sql).
SET steward.governor_room_increase = off;

-- No foreground load: nothing to protect, full speed at the job's batch.
SELECT * FROM steward.governor_trace(ARRAY[NULL, NULL]::float8[]);

-- A foreground at its baseline latency: start at a tenth of the time with
-- whole batches, then slow start (the time doubles), one step per window
-- (5 ticks of 1 s): until a window holds only samples of the new pace,
-- hold.
SELECT step, decision, reason, duty, batch_size, rows_per_sec
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[17]));

-- Slow start ends once the p99 ratio has used half the room below the
-- target (1.3: above 1.15), before any decrease: from then on the job adds
-- 0.05 of the time per window, even when the ratio falls back.
SELECT step, decision, reason, duty
  FROM steward.governor_trace(ARRAY[1, 1, 1, 1, 1, 1.2, 1.2, 1.2, 1.2, 1.2, 1, 1, 1, 1, 1, 1]::float8[])
 WHERE decision <> 'hold';

-- The exit is judged at every tick (review13 R13-7): a p99 above the
-- target for three ticks in the middle of a window (right after a
-- doubling: the doubling is undone at the first of them, then the job
-- holds) or above 1.15 for two ends slow start as well, though the ratio
-- is back at 1 when the window settles.
SELECT step, decision, reason, throttled_by, round(duty::numeric, 3) AS duty
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[7]) || array_fill(1.4::float8, ARRAY[3])
                              || array_fill(1.0::float8, ARRAY[20]))
 WHERE decision <> 'hold' OR step BETWEEN 6 AND 12;
SELECT step, decision, reason, round(duty::numeric, 3) AS duty
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[7]) || array_fill(1.2::float8, ARRAY[2])
                              || array_fill(1.0::float8, ARRAY[20]))
 WHERE decision <> 'hold';

-- After a decrease the job never doubles again (additive increase only).
SELECT step, decision, reason, duty
  FROM steward.governor_trace(ARRAY[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]::float8[])
 WHERE decision <> 'hold';

-- Sessions that waited for the job's locks end slow start as well (its
-- batch halves; afterwards it adds 0.05 of the time per window).
SELECT step, decision, reason, duty, batch_size
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[16]), NULL,
                              ARRAY[0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
 WHERE decision <> 'hold';

-- steward.governor_slow_start = off: additive increase from the start.
SET steward.governor_slow_start = off;
SELECT step, decision, reason, duty
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[11]))
 WHERE decision <> 'hold';
RESET steward.governor_slow_start;

-- p99 above the target: multiplicative decrease of the time (x 0.7; the
-- batch stays whole); while the window still holds samples from before
-- the decrease (5 ticks of 1 s), hold; then decrease again (x 0.5: the
-- decrease before did not bring the foreground back); below target, add
-- again once a window has passed.
SELECT step, decision, reason, throttled_by, duty, batch_size, rows_per_sec
  FROM steward.governor_trace(ARRAY[1, 1, 1, 1, 1, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.2, 1.2, 1.0, 1.0, 1.0, 1.0, 1.0]::float8[]);

-- The foreground goes away: full speed; when it comes back the job
-- resumes at the pace it had under it, not at full speed.
SELECT step, decision, reason, duty, batch_size
  FROM steward.governor_trace(ARRAY[1, 1, 1, 1, 1, 1.5, NULL, NULL, 1, 1]::float8[]);

-- The job starts with no foreground (full speed); the foreground that
-- arrives has no baseline yet, so the job pauses to measure one; it then
-- goes on at the pace it would have had under a foreground (a tenth of
-- the time), not at full speed (which an open-loop foreground paid for
-- with queued clients: test/bench/governor/results-open-loop.md).
SELECT step, decision, reason, duty, batch_size
  FROM steward.governor_trace(ARRAY[NULL, NULL, NULL, 1, 1]::float8[],
                              foreground_calls => ARRAY[0, 1000, 1000, 1000, 1000]);

-- Above the critical ratio: pause entirely, come back at half the pace.
SELECT step, decision, reason, throttled_by, duty, batch_size, pause_ms
  FROM steward.governor_trace(ARRAY[1, 1, 4, 4, 1, 1, NULL]::float8[]);

-- A job never starves below the critical ratio: a foreground that stays
-- slow drives it down to 2% of the time, not to zero.  After three
-- decreases in a row that did not bring the foreground back it pauses
-- once to measure the baseline afresh (here the trace's baseline stays
-- where it was: the job was the cause, and it goes on slowing down); at
-- the floor it keeps moving without stopping again.
SELECT min(duty) AS min_duty, min(batch_size) FILTER (WHERE decision <> 'pause') AS min_batch,
       min(rows_per_sec) FILTER (WHERE step > 30) AS min_rows_per_sec_late,
       count(*) FILTER (WHERE decision = 'pause' AND reason = 'measuring_baseline') AS baseline_pauses,
       count(*) FILTER (WHERE decision = 'pause' AND step > 30) AS late_pauses
  FROM steward.governor_trace(array_fill(2.0::float8, ARRAY[60]));
SELECT step, decision, reason, round(duty::numeric, 3) AS duty
  FROM steward.governor_trace(array_fill(2.0::float8, ARRAY[30]))
 WHERE decision <> 'hold';

-- Replication lag: above half of steward.governor_max_replication_lag,
-- slow down; above it, pause; lag without foreground load still counts.
SELECT step, decision, reason, duty, batch_size
  FROM steward.governor_trace(ARRAY[NULL, NULL, NULL, NULL]::float8[],
                              ARRAY[0, 6000, 12000, 100]::float8[]);
SET steward.governor_max_replication_lag = 0;   -- not watched
SELECT step, decision, reason
  FROM steward.governor_trace(ARRAY[NULL]::float8[], ARRAY[60000]::float8[]);
RESET steward.governor_max_replication_lag;

-- Foreground backends waiting for a CPU: their run-queue wait per
-- statement, as a ratio of the baseline's (0.1 ms in a trace), above the
-- target and by at least 0.1 ms slows the job down (once the start pace
-- has been judged over a window).
SELECT step, decision, reason, duty, batch_size
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[7]),
                              cpu_wait_ratio => ARRAY[1, 1, 1, 1, 1, 3, 1.2]);

-- Sessions waiting for the job's locks halve its batch, not its time,
-- when the waits begun in a tick are more than
-- steward.governor_lock_wait_share (0.5%) of the foreground's statements
-- (or transactions) a tick: here 1000 a window, 200 a tick, so 3 waits
-- halve it and 1 does not.
SELECT step, decision, reason, duty, batch_size
  FROM steward.governor_trace(ARRAY[1, 1, 1, 1]::float8[], NULL, ARRAY[0, 3, 1, 0]);
-- Under 10000 statements a window (2000 a tick), 10 waits a tick (0.5%)
-- leave a batch of 10000 whole: they are below the foreground's p99;
-- 11 halve it.  (One session waiting for a row of a batch halved it
-- before: batches of 10000 ran at a median of 731 rows.)
SELECT step, decision, reason, duty, batch_size
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[5]), NULL,
                              ARRAY[0, 1, 2, 10, 11],
                              array_fill(10000, ARRAY[5]), max_batch => 10000);
-- 0: any wait halves the batch.
SET steward.governor_lock_wait_share = 0;
SELECT step, decision, reason, batch_size
  FROM steward.governor_trace(array_fill(1.0::float8, ARRAY[3]), NULL, ARRAY[0, 1, 0],
                              array_fill(10000, ARRAY[3]), max_batch => 10000);
RESET steward.governor_lock_wait_share;

-- max_rows_per_sec caps the rate whatever the governor allows.
SELECT step, decision, reason, throttled_by, batch_size, pause_ms, rows_per_sec
  FROM steward.governor_trace(ARRAY[NULL, NULL]::float8[], max_batch => 1000,
                              max_rows_per_sec => 20000);

-- A window with fewer than steward.governor_min_calls statements is no
-- foreground load.
SELECT step, decision, reason
  FROM steward.governor_trace(ARRAY[10, 10]::float8[], foreground_calls => ARRAY[49, 50]);

-- The thresholds are settings.
SET steward.governor_target_p99_ratio = 2;
SELECT step, decision, reason FROM steward.governor_trace(ARRAY[1.9, 1.9, 1.9, 1.9, 1.9, 2.1]::float8[]);
RESET steward.governor_target_p99_ratio;
-- A critical ratio below the target counts as the target (the settings
-- are applied one at a time, so neither can refuse the other): SHOW says
-- what was set, steward.governor what is in force, and a ratio between
-- them pauses.
SET steward.governor_target_p99_ratio = 5;
SET steward.governor_critical_p99_ratio = 2;
SHOW steward.governor_critical_p99_ratio;
SELECT target_p99_ratio, critical_p99_ratio FROM steward.governor;
SELECT step, decision, reason FROM steward.governor_trace(ARRAY[4, 6]::float8[]);
RESET steward.governor_target_p99_ratio;
SET steward.governor_critical_p99_ratio = 3;
-- steward.governor_max_batch caps every job's batch.
SET steward.governor_max_batch = 300;
SELECT step, decision, batch_size FROM steward.governor_trace(ARRAY[NULL]::float8[], max_batch => 1000);
RESET steward.governor_max_batch;
-- Off: every job at its full batch, paced only by max_rows_per_sec.
SET steward.governor = off;
SELECT step, decision, reason, throttled_by, duty, batch_size
  FROM steward.governor_trace(ARRAY[10, 10]::float8[]);
RESET steward.governor;
SELECT * FROM steward.governor_trace(ARRAY[1]::float8[], max_batch => 0);

-- Jobs written in SQL: begin, pace after each batch, end.  Here the
-- foreground this test makes does not count (steward.governor_min_calls),
-- so the job runs at full speed.
SET steward.governor_min_calls = 1000000000;
SELECT steward.governor_begin('backfill', 'regress', 500, NULL, 42) AS job \gset
SELECT steward.governor_pace(:job, 0) AS first_batch;
SELECT steward.governor_pace(:job, 500) AS next_batch;
SELECT kind, label, ref, pid = pg_backend_pid() AS mine, state, batch_size, max_batch, duty,
       rows_done, batches, last_decision, reason, throttled_by, finished_at IS NULL AS running
  FROM steward.governor_jobs WHERE job_id = :job;
SELECT steward.governor_end(:job);
SELECT state, rows_done, finished_at IS NOT NULL AS finished
  FROM steward.governor_jobs WHERE job_id = :job;
SELECT steward.governor_end(:job);          -- ended: nothing to do
\set VERBOSITY sqlstate
SELECT steward.governor_pace(:job, 1);      -- not running in this session (42704)
\set VERBOSITY default
SELECT steward.governor_pace(-1, 1);
SELECT steward.governor_pace(NULL, 1);
SELECT steward.governor_begin(NULL);
SELECT steward.governor_begin('backfill', 'x', 0);
SELECT steward.governor_begin('backfill', 'x', 10, 0);
-- A kind is one governor_jobs knows; rows a batch moved are never negative.
SELECT steward.governor_begin('', 'x', 100);
SELECT steward.governor_begin('bogus', 'x', 100);
SELECT steward.governor_begin('relayout', 'x', 100) AS job \gset
SELECT steward.governor_pace(:job, -100);
SELECT steward.governor_end(:job);

-- A drill: every job sees the p99 at 5 times its baseline and pauses
-- (governor_pace sleeps one interval and answers 0: commit and call again).
SELECT steward.governor_begin('backfill', 'drill', 100) AS job \gset
SELECT steward.governor_simulate(5, NULL, '1 hour') > now() AS simulating;
SELECT steward.governor_pace(:job, 0) AS paused;
SELECT state, batch_size, last_decision, throttled_by, p99_ratio
  FROM steward.governor_jobs WHERE job_id = :job;
SELECT p99_ratio, simulated_until IS NOT NULL AS simulated FROM steward.governor;
SELECT steward.governor_simulate(NULL, '20 s', '1 hour') IS NOT NULL;
SELECT replication_lag_ms FROM steward.governor;
SELECT steward.governor_simulate(NULL, NULL, '0') IS NOT NULL;   -- over
SELECT simulated_until FROM steward.governor;
SELECT steward.governor_end(:job);
SELECT steward.governor_simulate(-1, NULL, '1 minute');
SELECT steward.governor_simulate(2, '-1 s', '1 minute');
SELECT steward.governor_simulate(2, NULL, '-1 s');          -- 22023; 0 ends a simulation
-- Intervals too long to be a drill (they overflowed into "negative").
SELECT steward.governor_simulate(2, '1s', '1000000 years');
SELECT steward.governor_simulate(2, '1000000 years', '1s');
SELECT steward.governor_simulate(2, '1s', '101 years');
SELECT steward.governor_simulate(2, '1s', '178956970 years');
RESET steward.governor_min_calls;

-- The decisions are counted in steward.metrics.
SELECT labels->>'decision' AS decision, labels->>'reason' AS reason
  FROM steward.metrics WHERE metric = 'steward_governor_decisions_total' ORDER BY 1, 2;
SELECT value >= 1 AS counted FROM steward.metrics
 WHERE metric = 'steward_governor_decisions_total'
   AND labels = '{"decision": "pause", "reason": "p99_critical"}';
SELECT metric, type FROM steward.metrics WHERE metric = 'steward_governor_jobs';

-- Who may do what: anyone paces jobs of their own session and reads the
-- views; only superusers (or who is granted it) run a drill.
CREATE ROLE governor_stranger;
SELECT steward.governor_begin('backfill', 'public.secret_table', 100, NULL, 7) AS job \gset
SET ROLE governor_stranger;
SELECT steward.governor_begin('backfill', 'stranger') > 0 AS began;
SELECT count(*) >= 0 AS readable FROM steward.governor_jobs;
-- Another role's job: kind and progress, not its label or ref (as
-- pg_stat_activity hides another role's query); its own job in full.
SELECT kind, label, ref FROM steward.governor_jobs WHERE job_id = :job;
SELECT kind, label FROM steward.governor_jobs WHERE label = 'stranger' AND finished_at IS NULL;
RESET ROLE;
GRANT pg_read_all_stats TO governor_stranger;
SET ROLE governor_stranger;
SELECT kind, label, ref FROM steward.governor_jobs WHERE job_id = :job;
RESET ROLE;
SELECT steward.governor_end(:job);
REVOKE pg_read_all_stats FROM governor_stranger;
SET ROLE governor_stranger;
-- Finished, it stays hidden.
SELECT kind, label, ref, state FROM steward.governor_jobs WHERE job_id = :job;
SELECT enabled FROM steward.governor;
SELECT steward.governor_simulate(5);
SET steward.governor = off;
RESET ROLE;
DROP ROLE governor_stranger;

-- A batch commits at the session's synchronous_commit
-- (steward.batch_synchronous_commit on, the default); off, its commit does
-- not wait for its WAL flush, and the session's own setting is back after
-- the CALL (the last transaction commits with it, flushing the rest).
SELECT steward.create_state_machine('sc_flow', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b', 'b->a']);
CREATE TABLE sc_items (id int PRIMARY KEY, status text NOT NULL, note text) USING steward;
INSERT INTO sc_items (id, status) SELECT g, 'a' FROM generate_series(1, 5) g;
SELECT steward.attach_state_machine('sc_items', 'status', 'sc_flow');
SET synchronous_commit = local;
SET steward.batch_synchronous_commit = off;
CALL steward.run_transition('sc_items', 'a', 'b', $$note = current_setting('synchronous_commit')$$, 2);
SELECT status, note, count(*) FROM sc_items GROUP BY 1, 2;
SHOW synchronous_commit;
-- On: the batches commit as the session says.
RESET steward.batch_synchronous_commit;
CALL steward.run_transition('sc_items', 'b', 'a', $$note = current_setting('synchronous_commit')$$, 2);
SELECT status, note, count(*) FROM sc_items GROUP BY 1, 2;
-- A batch that fails takes the setting with it: the session's own is back.
SET steward.batch_synchronous_commit = off;
CALL steward.run_transition('sc_items', 'a', 'b', $$note = (1 / (id - 3))::text$$, 2);
SHOW synchronous_commit;
SELECT status, count(*) FROM sc_items GROUP BY 1 ORDER BY 1;
SELECT status, rows_done FROM steward.transition_progress
 WHERE relid = 'sc_items'::regclass ORDER BY id DESC LIMIT 1;
RESET synchronous_commit;
RESET steward.batch_synchronous_commit;
DROP TABLE sc_items;
SELECT steward.drop_state_machine('sc_flow');
