-- steward.health's windowed checks (p99 latency, slow-call rate,
-- version-conflict rate) say 'ok' only when they measured and found no
-- problem (health3): an empty window, and a window holding fewer than
-- steward.health_min_calls calls (steward.health_min_updates updates), are
-- 'unknown', with the window's events and min_events and a first_response
-- saying why; with enough events the thresholds judge.  The old view said
-- 'ok' for both, whatever the value; steward.health_history now says
-- 'unknown' for too few events as well.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.reset();
CREATE TABLE h3 (id int PRIMARY KEY, v bigint) USING steward;
SELECT steward.track_versions('h3', 'v');

-- The windowed checks over a window that holds nothing: a snapshot two
-- seconds back, taken inside the statement that reads health, and a
-- one-second window starting at it (a top-level statement counts when it
-- ends).
CREATE FUNCTION pg_temp.health_of_empty_window()
RETURNS TABLE ("check" text, status text, value numeric, events bigint, min_events bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM steward.take_snapshot(pg_catalog.clock_timestamp() - interval '2 s');
    RETURN QUERY SELECT h."check", h.status, h.value, h.events, h.min_events FROM steward.health h
                  WHERE h."check" IN ('p99_latency_ms', 'slow_call_rate', 'version_conflict_rate')
                  ORDER BY 1;
END
$$;
SET steward.health_window = '1s';
SELECT * FROM pg_temp.health_of_empty_window();
-- Even with no minimum, nothing measured is not 'ok'.
SET steward.health_min_calls = 0;
SET steward.health_min_updates = 0;
SELECT * FROM pg_temp.health_of_empty_window();
RESET steward.health_min_calls;
RESET steward.health_min_updates;
RESET steward.health_window;

-- Some calls, one of them slow, and five updates of a steward table, one
-- of which lost a version race (a rate of 1/4): a window since the reset
-- (no snapshot is five minutes old), under the default minimums of 100.
SELECT steward.reset();
SET steward.slow_query_threshold = '5ms';
SELECT pg_sleep(0.02) AS slow_call;
RESET steward.slow_query_threshold;
INSERT INTO h3 SELECT g, NULL FROM generate_series(1, 4) g;
UPDATE h3 SET v = 1;
UPDATE h3 SET v = 1 WHERE id = 1;
CREATE VIEW h3_windowed AS
SELECT "check", status, value > 0 AS measured_over_zero, events >= min_events AS enough_events,
       warn_threshold, critical_threshold
  FROM steward.health
 WHERE "check" IN ('p99_latency_ms', 'slow_call_rate', 'version_conflict_rate')
 ORDER BY 1;
-- Thresholds under every value: the 20 ms call is the p99 of the few
-- calls, it is one slow call of some dozen, one conflict in 4 updates.
SET steward.health_p99_warn = '0.5ms';
SET steward.health_p99_critical = '1ms';
SET steward.health_slow_rate_warn = 0.001;
SET steward.health_slow_rate_critical = 0.002;
SET steward.health_conflict_rate_warn = 0.1;
SET steward.health_conflict_rate_critical = 0.2;
-- Under the minimums: 'unknown', although every value is over its
-- critical threshold.
SELECT * FROM h3_windowed;
SELECT "check", events < min_events AS too_few, min_events, first_response
  FROM steward.health WHERE status = 'unknown'
   AND "check" IN ('p99_latency_ms', 'slow_call_rate', 'version_conflict_rate') ORDER BY 1;

-- Enough events (minimums of 1): over the critical thresholds is
-- critical, between warn and critical is warn, under warn is ok, and the
-- first response is the guide's.
SET steward.health_min_calls = 1;
SET steward.health_min_updates = 1;
SELECT * FROM h3_windowed;
SET steward.health_p99_critical = '1h';
SET steward.health_slow_rate_critical = 0.9;
SET steward.health_conflict_rate_critical = 0.9;
SELECT * FROM h3_windowed;
SET steward.health_p99_warn = '59min';
SET steward.health_slow_rate_warn = 0.5;
SET steward.health_conflict_rate_warn = 0.5;
SELECT * FROM h3_windowed;
SELECT "check", status, first_response FROM steward.health
 WHERE "check" IN ('p99_latency_ms', 'slow_call_rate', 'version_conflict_rate') ORDER BY 1;

-- The history at a snapshot: the same statuses, 'unknown' under the
-- minimums (the thresholds are still the ok ones).
SELECT steward.take_snapshot() IS NOT NULL AS snapshot;
SELECT "check", status, events >= min_events AS enough_events FROM steward.health_history
 WHERE "check" IN ('p99_latency_ms', 'version_conflict_rate') ORDER BY 1;
RESET steward.health_min_calls;
RESET steward.health_min_updates;
SELECT "check", status, events >= min_events AS enough_events FROM steward.health_history
 WHERE "check" IN ('p99_latency_ms', 'version_conflict_rate') ORDER BY 1;

RESET ALL;
DROP VIEW h3_windowed;
DROP TABLE h3;
SELECT steward.reset();
