-- steward.health's p99 and the history's percentiles never read below the
-- calls they summarize (review11 R11-5): a window's percentile is an upper
-- bound, within a fine bucket (2%) while the live histogram pins it down,
-- within a coarse one (22%) in the history.  The old code reported the
-- middle of a coarse bucket: 12 calls of 201-210 ms read 190.8 ms and
-- health said ok against a 200 ms threshold.
--
-- The fine bound is relative to the slowest call the live histogram holds
-- in this database since the reset (all_max below), not to the slow calls
-- alone: the window's p99 of some 20 calls is its slowest call, whatever
-- statement made it, and the fine refinement walks the live histogram
-- since the reset.  On a loaded machine another statement of the window
-- takes longer than the slow calls -- at load 6 on 2 CPUs a SELECT of this
-- test reading health took 450 ms, and the first read is in the second
-- one's window; a statement took over 1 s since the reset, which made the
-- status critical -- so within_a_fine_bucket read f against the slow
-- calls' maximum once (trust47: the health value was right; the last case
-- below shows it).  all_max is created before the reset and read in the
-- statement that reads health (no call of this session ends between the
-- two), so the window holds no more statements than before: p50 is a slow
-- call only while the slow calls are most of the interval's.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE FUNCTION pg_temp.all_max() RETURNS double precision LANGUAGE sql AS
$$ SELECT max(max_ms) FROM steward.statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) $$;
SELECT steward.reset();
SET steward.health_p99_warn = '200ms';
-- Critical far above any call: a statement slowed by a loaded machine
-- must not turn 'warn' critical.
SET steward.health_p99_critical = '10min';
SET steward.health_min_calls = 10;
SET steward.health_window = '5min';

-- Calls of 175 ms, before a baseline ten minutes ago: in the same coarse
-- bucket ([172.7, 210.6) ms) as the slow calls that follow, but out of
-- the window.
SELECT 'SELECT 1 AS before_window, pg_sleep(0.175)' FROM generate_series(1, 4) \gexec
SELECT steward.take_snapshot(now() - interval '10 min') IS NOT NULL AS baseline;
SELECT 'SELECT pg_sleep(0.201) AS slow' FROM generate_series(1, 12) \gexec

CREATE TEMP TABLE slow AS
SELECT min(max_ms) AS max_ms FROM steward.statements WHERE query LIKE '%pg_sleep($1) AS slow%';
SELECT max_ms >= 201 AS slow_calls_seen FROM slow;

-- The window holds the 12 slow calls (and a few fast statements): its p99
-- is the slowest call, over the threshold.
SELECT h.status, h.value >= s.max_ms AS not_below_the_slowest,
       h.value <= pg_temp.all_max() * 1.021 AS within_a_fine_bucket
  FROM steward.health h, slow s WHERE h."check" = 'p99_latency_ms';
-- Since the reset (no snapshot old enough): the same.
SET steward.health_window = '1h';
SELECT h.status, h.value >= s.max_ms AS not_below_the_slowest,
       h.value <= pg_temp.all_max() * 1.021 AS within_a_fine_bucket
  FROM steward.health h, slow s WHERE h."check" = 'p99_latency_ms';
SET steward.health_window = '5min';

-- The history (coarse): the interval's percentiles are not below the
-- slowest call (p99) or the sleep (p50, p95), and at most a coarse bucket
-- above; health at the snapshot warns too, and the statement's own
-- history is not below its slowest call either.
SELECT steward.take_snapshot() IS NOT NULL AS snapshot;
SELECT h.p99_ms >= s.max_ms AS p99_not_below, h.p99_ms <= pg_temp.all_max() * 1.23 AS p99_within_a_bucket,
       h.p95_ms >= 201 AS p95_not_below, h.p50_ms >= 201 AS p50_not_below
  FROM steward.statement_history h, slow s
 WHERE h.interval_start IS NOT NULL AND h.calls >= 12;
SELECT status, value >= (SELECT max_ms FROM slow) AS not_below_the_slowest
  FROM steward.health_history
 WHERE "check" = 'p99_latency_ms' AND window_start IS NOT NULL;
SELECT t.p99_ms >= (SELECT max_ms FROM slow) AS p99_not_below
  FROM steward.top_statement_history t JOIN steward.statements s USING (queryid)
 WHERE s.query LIKE '%pg_sleep($1) AS slow%' AND t.interval_start IS NOT NULL;

-- Why it failed once: a call slower than the slow ones in the window (as a
-- statement on a loaded machine) is the window's p99; against the slow
-- calls' maximum the old assertion reads f, against the slowest call it
-- bounds it reads t.
SET steward.health_window = '1h';
SELECT pg_sleep(0.5) AS slower;
SELECT h.value >= 500 AS the_slower_call, h.value <= s.max_ms * 1.021 AS old_assertion,
       h.value <= pg_temp.all_max() * 1.021 AS within_a_fine_bucket
  FROM steward.health h, slow s WHERE h."check" = 'p99_latency_ms';

RESET ALL;
SELECT steward.reset();
