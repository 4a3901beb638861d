-- Observability: statement percentiles, slow calls, errors, views, health.
\set SHOW_CONTEXT never
SELECT steward.reset();

-- Shapes of the views.
SELECT table_name, string_agg(column_name::text, ', ' ORDER BY ordinal_position) AS columns
  FROM information_schema.columns
 WHERE table_schema = 'steward'
   AND table_name IN ('statements', 'table_stats', 'replication', 'connections',
                      'database_hit_ratio', 'metrics', 'health')
 GROUP BY table_name ORDER BY table_name;

-- Percentiles from the log-linear histogram (nearest rank, 1% buckets):
-- 120 calls of 10 ms, 70 of 30 ms and 10 of 100 ms.  p50 (rank 100) is a
-- 10 ms call, p90 (rank 180) a 30 ms one and p99 (rank 198) a 100 ms one,
-- each well inside its group.  The lower bounds are tight (a sleep never
-- returns early) and each pair of bounds excludes the other groups, so a
-- percentile read at the wrong rank fails.  The upper bounds allow for the
-- sleep's overshoot on a busy machine, and it takes many stalled calls to
-- reach them: 21 calls over 20 ms for p50, 11 over 70 ms for p90 and 3 over
-- 200 ms for p99 (with 90 calls of 10 ms and 10 of 100 ms, p90 was the
-- slowest 10 ms call: one stall failed it).  slow_calls (threshold 70 ms)
-- is the 10 calls of 100 ms and any call a stall lifted past 70 ms: as
-- many stalls as fail p90 fail it.
SET steward.slow_query_threshold = 70;
\o /dev/null
SELECT 'SELECT pg_sleep(0.01)' FROM generate_series(1, 120) \gexec
SELECT 'SELECT pg_sleep(0.03)' FROM generate_series(1, 70) \gexec
SELECT 'SELECT pg_sleep(0.1)' FROM generate_series(1, 10) \gexec
\o
RESET steward.slow_query_threshold;
SELECT query, calls, rows,
       p50_ms BETWEEN 10 * 0.99 AND 10 * 1.01 + 10 AS p50_ok,
       p90_ms BETWEEN 30 * 0.99 AND 70 AS p90_ok,
       p99_ms BETWEEN 100 * 0.99 AND 100 * 1.01 + 100 AS p99_ok,
       max_ms >= 100 AS max_ok,
       slow_calls BETWEEN 10 AND 20 AS slow_calls_ok,
       abs(mean_ms - total_ms / calls) < 1e-9 AS mean_ok
  FROM steward.statements WHERE query = 'SELECT pg_sleep($1)';
-- The histogram for plotting.
SELECT sum(count) AS calls, min(lower_ms) < 10 AND max(upper_ms) > 100 AS spans
  FROM steward.latency_histogram((SELECT queryid FROM steward.statements
                                   WHERE query = 'SELECT pg_sleep($1)'));

-- Failed executions are errors, not calls; constants are normalized.
CREATE TABLE div (d int);
INSERT INTO div VALUES (0);
SELECT 10 / d FROM div;
SELECT 20 / d FROM div;
SELECT query, calls, errors FROM steward.statements WHERE query LIKE '%/ d FROM div%';
-- Statements run inside functions and DO blocks are not top-level.
DO $$ BEGIN PERFORM count(*) FROM div; END $$;
SELECT count(*) FROM steward.statements WHERE query LIKE '%count(*) FROM div%';

-- Table statistics of steward tables.
CREATE TABLE acct (id int PRIMARY KEY, v bigint) USING steward;
SELECT steward.track_versions('acct', 'v');
INSERT INTO acct VALUES (1, NULL), (2, NULL);
UPDATE acct SET v = 1 WHERE id = 1;
UPDATE acct SET v = v WHERE id = 2;
UPDATE acct SET v = 1 WHERE id = 1;
SELECT pg_stat_force_next_flush();
SELECT relid, inserts, updates, deletes, version_conflicts, sequence_rejects, illegal_transitions
  FROM steward.table_stats WHERE relid = 'acct'::regclass;

-- Health: statuses flip when thresholds are lowered.  (Three updates are
-- taken as evidence here; by default a window needs 100, see
-- 09_stats_windows.)
SET steward.health_min_updates = 1;
SELECT "check", status FROM steward.health WHERE "check" IN ('p99_latency_ms', 'version_conflict_rate');
SET steward.health_p99_warn = '20ms';
SELECT "check", status FROM steward.health WHERE "check" = 'p99_latency_ms';
SET steward.health_p99_critical = '30ms';
SET steward.health_conflict_rate_warn = 0.000001;
SET steward.health_conflict_rate_critical = 0.000002;
SELECT "check", status, value > 0 AS positive FROM steward.health
 WHERE "check" IN ('p99_latency_ms', 'version_conflict_rate');
RESET ALL;
SELECT count(*) AS checks, count(*) FILTER (WHERE first_response <> '') AS with_response
  FROM steward.health;

-- Prometheus naming: base units, _total counters, histogram series.
SELECT DISTINCT metric, type FROM steward.metrics
 WHERE metric LIKE 'steward_statement%' OR metric LIKE 'steward_version%' ORDER BY 1;
SELECT value > 0 AS counted FROM steward.metrics
 WHERE metric = 'steward_version_conflicts_total' AND labels->>'table' = 'public.acct';
SELECT (SELECT value FROM steward.metrics WHERE metric = 'steward_statement_duration_seconds_bucket'
          AND labels->>'le' = '+Inf')
     = (SELECT value FROM steward.metrics WHERE metric = 'steward_statement_duration_seconds_count')
       AS inf_bucket_is_count;

-- Hot rows: a space-saving sketch of the most-updated keys per steward table.
CREATE TABLE hot (id int PRIMARY KEY, v int) USING steward;
INSERT INTO hot SELECT g, 0 FROM generate_series(1, 500) g;
UPDATE hot SET v = v + 1;
UPDATE hot SET v = v + 1 WHERE id = 42;
UPDATE hot SET v = v + 1 WHERE id = 42;
UPDATE hot SET v = v + 1 WHERE id IN (42, 77);
UPDATE hot SET v = v + 1 WHERE id = 77;
-- 42 was updated 4 times and 77 three times; counts overestimate by at most error_bound.
SELECT key_text, updates - error_bound <= true_updates AND true_updates <= updates AS bounded
  FROM steward.hot_rows h
  JOIN (VALUES ('42', 4), ('77', 3)) t(k, true_updates) ON t.k = h.key_text
 WHERE relid = 'hot'::regclass ORDER BY key_text;
-- The two hottest (the view's ORDER BY leaves ties between counts open).
SELECT key_text FROM steward.hot_rows WHERE relid = 'hot'::regclass
 ORDER BY updates DESC, key_text LIMIT 2;

-- Privileges: another user sees numbers but not our texts, cannot reset,
-- and needs pg_read_all_stats for metrics and health.
CREATE ROLE obs_user;
GRANT USAGE ON SCHEMA public TO obs_user;
SET ROLE obs_user;
SELECT count(*) > 0 AS sees_rows, count(query) AS sees_texts
  FROM steward.statements WHERE userid <> 'obs_user'::regrole;
SELECT count(*) > 0 AS sees_hot_rows, count(key_text) AS sees_keys
  FROM steward.hot_rows WHERE relid = 'hot'::regclass;
SELECT steward.reset();
SELECT count(*) FROM steward.metrics;
SELECT count(*) FROM steward.health;
RESET ROLE;
GRANT pg_read_all_stats TO obs_user;
SET ROLE obs_user;
SELECT count(query) > 0 AS sees_texts FROM steward.statements WHERE userid <> 'obs_user'::regrole;
SELECT count(*) > 0 AS reads_health FROM steward.health;
RESET ROLE;
REVOKE USAGE ON SCHEMA public FROM obs_user;
DROP ROLE obs_user;

-- reset clears statements and counters.
SELECT steward.reset();
SELECT count(*) FILTER (WHERE query LIKE '%pg_sleep%') AS sleeps FROM steward.statements;
SELECT count(*) AS counters FROM steward.table_counters();
DROP TABLE div, acct, hot;

-- Wait sampling views (their contents are tested in
-- test/isolation/specs/lock_contention.spec).
SELECT table_name, string_agg(column_name::text, ', ' ORDER BY ordinal_position) AS columns
  FROM information_schema.columns
 WHERE table_schema = 'steward' AND table_name IN ('waits', 'lock_contention')
 GROUP BY table_name ORDER BY table_name;
-- Idle loops of background processes are not sampled.
SELECT count(*) AS idle_samples FROM steward.waits WHERE event_type = 'Activity';
