-- steward.top_statement_history: each top statement's calls and latency
-- per snapshot interval (what steward-report charts as one statement's
-- p50/p95/p99 over time).  Snapshots are labelled with controlled times.
\set SHOW_CONTEXT never
SELECT steward.reset();

-- A baseline, 5 calls of a 20 ms statement, a snapshot, 3 more calls and
-- 2 of a 50 ms statement, a snapshot.
SELECT steward.take_snapshot(now() - interval '30 min') IS NOT NULL AS baseline;
SELECT 'SELECT pg_sleep(0.02) AS a' FROM generate_series(1, 5) \gexec
SELECT steward.take_snapshot(now() - interval '20 min') IS NOT NULL AS first_period_ends;
SELECT 'SELECT pg_sleep(0.02) AS a' FROM generate_series(1, 3) \gexec
SELECT 'SELECT pg_sleep(0.05)::text AS b' FROM generate_series(1, 2) \gexec
SELECT steward.take_snapshot(now() - interval '10 min') IS NOT NULL AS second_period_ends;

-- Each interval holds that interval's calls; a statement new since the
-- previous snapshot starts from zero (that snapshot kept every statement
-- there was).  Percentiles within the coarse histogram's 10.5%, plus the
-- sleep's overshoot on a loaded machine (40 ms allowed; p99 of 2 to 5
-- calls is their slowest, which one stall can lift: 150 ms).
SELECT s.query, row_number() OVER (PARTITION BY h.queryid ORDER BY h.interval_end) AS n,
       h.interval_start IS NOT NULL AS has_start, h.calls,
       h.p50_ms BETWEEN d * 0.895 AND d * 1.105 + 40 AS p50_about_right,
       h.p99_ms BETWEEN d * 0.895 AND d * 1.105 + 150 AS p99_about_right,
       h.mean_ms >= d AS mean_at_least_the_sleep
  FROM steward.top_statement_history h
  JOIN (VALUES ('SELECT pg_sleep($1) AS a', 20), ('SELECT pg_sleep($1)::text AS b', 50)) v(q, d) ON true
  JOIN steward.statements s ON s.queryid = h.queryid AND s.query = v.q
 ORDER BY s.query, h.interval_end;

-- Snapshots keep the 16 statements of the cluster with the most time.
-- With more than that, a statement that was not among them at the
-- previous snapshot has no interval there (where it started is unknown);
-- from the next interval on it has.
\o /dev/null
SELECT 'SELECT ' || repeat('1, ', g) || '1 AS wide' FROM generate_series(1, 20) g \gexec
\o
SELECT steward.take_snapshot(now() - interval '5 min') IS NOT NULL AS full_snapshot;
SELECT 'SELECT length(pg_sleep(0.03)::text) AS c' FROM generate_series(1, 2) \gexec
SELECT steward.take_snapshot(now() - interval '4 min') IS NOT NULL AS c_enters;
SELECT 'SELECT length(pg_sleep(0.03)::text) AS c' FROM generate_series(1, 4) \gexec
SELECT steward.take_snapshot(now() - interval '3 min') IS NOT NULL AS c_again;
SELECT row_number() OVER (ORDER BY h.interval_end) AS n, h.calls
  FROM steward.top_statement_history h
  JOIN steward.statements s USING (queryid)
 WHERE s.query = 'SELECT length(pg_sleep($1)::text) AS c'
 ORDER BY h.interval_end;
SELECT count(*) = 0 AS no_negative FROM steward.top_statement_history WHERE calls < 0;

-- Everyone may read it (numbers only, as steward.statements).
CREATE ROLE top_history_reader;
SET ROLE top_history_reader;
SELECT count(*) > 0 AS readable FROM steward.top_statement_history;
RESET ROLE;
DROP ROLE top_history_reader;

-- reset() clears it with the rest of the history.
SELECT steward.reset();
SELECT count(*) AS after_reset FROM steward.top_statement_history;
