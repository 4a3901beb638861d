--------------------------------------------------------------------------
-- Health checks and reset (src/stats)
--------------------------------------------------------------------------

-- One row per check, with the guide's "typical first response".  Latency,
-- slow calls and conflicts are judged over the last steward.health_window
-- (history.c), and only once the window holds steward.health_min_calls
-- calls or steward.health_min_updates updates (events, min_events): a
-- fixed problem turns green, and three updates right after start are no
-- evidence.  The buffer hit ratio, since the statistics were reset, is
-- judged once steward.health_min_reads blocks were read (hits and reads).  'ok' means measured and fine: a check that cannot judge (too
-- few events, nothing measured, no backup known) is 'unknown', and its
-- first_response says what would let it judge (why below).
CREATE VIEW steward.health AS
WITH w AS (
    SELECT * FROM steward._history(steward.setting_value('steward.health_window'))
     WHERE is_now
), v AS (
    SELECT 'p99_latency_ms' AS check_name,
           (SELECT p99_ms FROM w) AS value,
           steward.setting_value('steward.health_p99_warn') AS warn,
           steward.setting_value('steward.health_p99_critical') AS critical,
           false AS lower_is_worse,
           'Check slow queries and indexes' AS first_response, 1 AS ord
    UNION ALL
    SELECT 'slow_call_rate',
           (SELECT slow_calls::float8 / nullif(calls, 0) FROM w),
           current_setting('steward.health_slow_rate_warn')::float8,
           current_setting('steward.health_slow_rate_critical')::float8, false,
           'Inspect query patterns and plans', 2
    UNION ALL
    SELECT 'lock_waiters',
           (SELECT count(*)::float8 FROM pg_catalog.pg_stat_activity WHERE wait_event_type = 'Lock'),
           current_setting('steward.health_lock_waiters_warn')::float8,
           current_setting('steward.health_lock_waiters_critical')::float8, false,
           'Reduce transaction scope, optimize writes', 3
    UNION ALL
    -- A standby without a WAL receiver cannot know its lag: infinite.
    SELECT 'replication_lag_s',
           (SELECT max(CASE WHEN role = 'standby' AND replay_lag_seconds IS NULL
                            THEN 'Infinity'::float8
                            ELSE coalesce(replay_lag_seconds, 0) END)::float8
              FROM steward.replication),
           steward.setting_value('steward.health_replication_lag_warn'),
           steward.setting_value('steward.health_replication_lag_critical'), false,
           'Send reads that must see their own writes to the primary, or have them wait for replay (steward.write_token, then steward.wait_for_token on the standby), and reduce the write load.', 4
    UNION ALL
    -- On a primary: standbys streaming, against steward.expected_standbys
    -- (one missing warns, all missing is critical).
    SELECT 'standbys_streaming',
           CASE WHEN NOT pg_catalog.pg_is_in_recovery()
                     AND current_setting('steward.expected_standbys')::float8 > 0
                THEN (SELECT count(*)::float8 FROM pg_catalog.pg_stat_replication
                       WHERE state = 'streaming') END,
           current_setting('steward.expected_standbys')::float8,
           least(1, current_setting('steward.expected_standbys')::float8), true,
           'Check the standby and its connection; rebuild it if it cannot catch up', 4
    UNION ALL
    SELECT 'connection_saturation',
           (SELECT sum(connections)::float8 / max(usable_connections) FROM steward.connections),
           current_setting('steward.health_connections_warn')::float8,
           current_setting('steward.health_connections_critical')::float8, false,
           'Pooling, rate limits, backpressure', 5
    UNION ALL
    SELECT 'buffer_hit_ratio',
           (SELECT hit_ratio::float8 FROM steward.database_hit_ratio WHERE datname = current_database()),
           current_setting('steward.health_buffer_hit_warn')::float8,
           current_setting('steward.health_buffer_hit_critical')::float8, true,
           'Add memory, fix access patterns', 6
    UNION ALL
    SELECT 'restore_drill_age_s',
           (SELECT extract(epoch FROM now() - max(finished_at))::float8
              FROM steward.restore_drills WHERE result = 'passed'),
           0.8 * steward.setting_value('steward.drill_max_age'),
           steward.setting_value('steward.drill_max_age'), false,
           'Run steward-drill; restore drills are part of delivering the database', 8
    UNION ALL
    SELECT 'restore_drill_duration_s',
           (SELECT duration_s::float8 FROM steward.restore_drills
             WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1),
           0.8 * steward.setting_value('steward.rto'),
           steward.setting_value('steward.rto'), false,
           'Improve restore throughput, adjust backup schedule', 9
    UNION ALL
    SELECT 'restore_drill_failed',
           (SELECT CASE WHEN result = 'failed' THEN 1 ELSE 0 END::float8 FROM steward.restore_drills
             WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1),
           1, 1, false,
           'Read steward.restore_drills.details; fix the backup before trusting it', 10
    UNION ALL
    -- The newest kept backup a drill has restored (pgBackRest: a drill
    -- without it restores a base backup it took itself, which says nothing
    -- of the server's backups), and the recovery point a drill to a target
    -- time achieved (target minus last replayed commit).
    SELECT 'backup_age_s',
           (SELECT extract(epoch FROM now() - max(backup_time))::float8
              FROM steward.restore_drills
             WHERE result = 'passed' AND backup_source LIKE 'pgbackrest:%'),
           0.8 * steward.setting_value('steward.backup_max_age'),
           steward.setting_value('steward.backup_max_age'), false,
           'Check the backup schedule and the last backup''s log', 12
    UNION ALL
    SELECT 'recovery_point_s',
           (SELECT greatest(extract(epoch FROM target_time - recovered_to), 0)::float8
              FROM steward.restore_drills
             WHERE finished_at IS NOT NULL AND target_time IS NOT NULL
             ORDER BY finished_at DESC LIMIT 1),
           0.8 * steward.setting_value('steward.rpo'),
           steward.setting_value('steward.rpo'), false,
           'Archive WAL more often (archive_timeout) or stream it; check the archive', 13
    UNION ALL
    SELECT 'capacity_runway_days',
           (SELECT CASE WHEN growth_bytes_per_day > 0 THEN days_until_full::float8
                        WHEN growth_bytes_per_day IS NOT NULL THEN 'Infinity'::float8 END
              FROM steward.capacity WHERE relid IS NULL),
           steward.setting_value('steward.health_runway_warn') / 86400,
           steward.setting_value('steward.health_runway_critical') / 86400, true,
           'Add storage, set retention, archive or partition old data', 11
    UNION ALL
    SELECT 'version_conflict_rate',
           (SELECT version_conflicts::float8 / nullif(updates, 0) FROM w),
           current_setting('steward.health_conflict_rate_warn')::float8,
           current_setting('steward.health_conflict_rate_critical')::float8, false,
           'Find hot rows; shorten read-modify-write windows', 7
    UNION ALL
    -- Migrations whose backfill or validation failed and that are neither
    -- fixed nor rolled back (src/migrate).
    SELECT 'failed_migrations',
           (SELECT count(*)::float8 FROM steward.migration_runs
             WHERE status = 'active' AND failed),
           1, 1, false,
           'Rollback, validate, improve rollout: steward.migrations shows the error; steward.migration_rollback() undoes it', 15
    UNION ALL
    -- Without shared_preload_libraries nothing above is measured.
    SELECT 'statistics_collected',
           CASE WHEN steward._statistics_collected() THEN 1 ELSE 0 END::float8, 1, 0, true,
           'Add pg_steward to shared_preload_libraries and restart the server', 14
), gate(check_name, events, min_events) AS (
    SELECT 'p99_latency_ms', calls, current_setting('steward.health_min_calls')::bigint FROM w
    UNION ALL
    SELECT 'slow_call_rate', calls, current_setting('steward.health_min_calls')::bigint FROM w
    UNION ALL
    SELECT 'version_conflict_rate', updates, current_setting('steward.health_min_updates')::bigint FROM w
    UNION ALL
    -- The hit ratio is since the database's statistics were reset, not
    -- over the window: a handful of block reads right after a start
    -- (catalogs read from disk) is no evidence either.
    SELECT 'buffer_hit_ratio',
           (SELECT blks_hit + blks_read FROM steward.database_hit_ratio WHERE datname = current_database()),
           current_setting('steward.health_min_reads')::bigint
), why(check_name, unknown_response) AS (
    -- What a check that cannot judge needs (first_response of 'unknown').
    VALUES
    ('p99_latency_ms', 'Too few calls in steward.health_window to judge (events under min_events): wait for traffic, or lower steward.health_min_calls'),
    ('slow_call_rate', 'Too few calls in steward.health_window to judge (events under min_events): wait for traffic, or lower steward.health_min_calls'),
    ('version_conflict_rate', 'Too few updates of steward tables in steward.health_window to judge (events under min_events): wait for writes, or lower steward.health_min_updates'),
    ('replication_lag_s', 'No standby is connected, so no lag is measured: set steward.expected_standbys to the standbys you run, so that a missing one is reported'),
    ('standbys_streaming', CASE WHEN pg_catalog.pg_is_in_recovery()
                               THEN 'This server is a standby: its primary counts the standbys streaming'
                               ELSE 'Set steward.expected_standbys to the number of standbys this primary should stream to' END),
    ('buffer_hit_ratio', 'Too few blocks read in this database since its statistics were reset to judge (events under min_events, hits and reads): wait for traffic, or lower steward.health_min_reads'),
    ('restore_drill_duration_s', 'No restore drill has finished yet: run steward-drill'),
    ('restore_drill_failed', 'No restore drill has finished yet: run steward-drill'),
    ('backup_age_s', 'No backup you keep is known: run steward-drill --pgbackrest STANZA on your pgBackRest stanza (a drill without --pgbackrest restores a base backup it takes itself, not your backups)'),
    ('recovery_point_s', 'No point-in-time drill yet: run steward-drill --pgbackrest STANZA --target-time TIME to measure the recovery point'),
    ('capacity_runway_days', 'Growth is not measured yet: steward.capacity projects it once its samples span steward.capacity_min_history')
), judged AS (
    SELECT v.*, gate.events, gate.min_events,
           CASE WHEN value IS NULL AND check_name = 'restore_drill_age_s' THEN 'warn'   -- never drilled
                WHEN value IS NULL THEN 'unknown'                    -- nothing measured
                WHEN events < min_events THEN 'unknown'              -- too few events to judge
                WHEN NOT lower_is_worse AND value >= critical THEN 'critical'
                WHEN NOT lower_is_worse AND value >= warn THEN 'warn'
                WHEN lower_is_worse AND value < critical THEN 'critical'
                WHEN lower_is_worse AND value < warn THEN 'warn'
                ELSE 'ok' END AS status
      FROM v LEFT JOIN gate USING (check_name)
)
SELECT check_name AS check, status,
       round(value::numeric, 4) AS value, events, min_events,
       warn AS warn_threshold, critical AS critical_threshold,
       CASE WHEN status = 'unknown'
            THEN coalesce(why.unknown_response, 'Nothing measured yet') ELSE first_response END AS first_response
  FROM judged LEFT JOIN why USING (check_name) ORDER BY ord, check_name;
GRANT SELECT ON steward.health TO pg_read_all_stats;

-- The windowed checks of steward.health at every snapshot: how health
-- looked over time (charts, post-mortems), with steward.health's statuses
-- ('unknown' for too few events).
CREATE VIEW steward.health_history AS
WITH w AS (
    SELECT * FROM steward._history(steward.setting_value('steward.health_window'))
     WHERE NOT is_now
)
SELECT w.snapshot_at, w.window_start, c.check_name AS check,
       CASE WHEN c.value IS NULL THEN 'unknown'                 -- no call (update) at all
            WHEN c.events < c.min_events THEN 'unknown'         -- too few to judge
            WHEN c.value >= c.critical THEN 'critical'
            WHEN c.value >= c.warn THEN 'warn'
            ELSE 'ok' END AS status,
       round(c.value::numeric, 4) AS value, c.events, c.min_events,
       c.warn AS warn_threshold, c.critical AS critical_threshold
  FROM w CROSS JOIN LATERAL (VALUES
       ('p99_latency_ms', w.p99_ms, w.calls,
        current_setting('steward.health_min_calls')::bigint,
        steward.setting_value('steward.health_p99_warn'),
        steward.setting_value('steward.health_p99_critical')),
       ('slow_call_rate', w.slow_calls::float8 / nullif(w.calls, 0), w.calls,
        current_setting('steward.health_min_calls')::bigint,
        current_setting('steward.health_slow_rate_warn')::float8,
        current_setting('steward.health_slow_rate_critical')::float8),
       ('version_conflict_rate', w.version_conflicts::float8 / nullif(w.updates, 0), w.updates,
        current_setting('steward.health_min_updates')::bigint,
        current_setting('steward.health_conflict_rate_warn')::float8,
        current_setting('steward.health_conflict_rate_critical')::float8))
       AS c(check_name, value, events, min_events, warn, critical)
 ORDER BY w.snapshot_at, c.check_name;
GRANT SELECT ON steward.health_history TO pg_read_all_stats;

CREATE FUNCTION steward.reset()
RETURNS void
AS 'MODULE_PATHNAME', 'steward_reset'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.reset() IS
  'clear every pg_steward statistic of the whole cluster (all databases): statements, waits, lock contention, hot rows, counters and the snapshot history';
REVOKE ALL ON FUNCTION steward.reset() FROM PUBLIC;

