--------------------------------------------------------------------------
-- Observability (src/stats): statements with percentiles, table stats,
-- replication, connections, Prometheus metrics, health checks
--------------------------------------------------------------------------

CREATE FUNCTION steward._statements(
    OUT userid oid, OUT dbid oid, OUT queryid bigint, OUT query text,
    OUT calls bigint, OUT errors bigint, OUT rows bigint,
    OUT total_ms double precision, OUT mean_ms double precision,
    OUT p50_ms double precision, OUT p90_ms double precision,
    OUT p95_ms double precision, OUT p99_ms double precision,
    OUT p999_ms double precision, OUT max_ms double precision,
    OUT slow_calls bigint, OUT shared_blks_hit bigint, OUT shared_blks_read bigint,
    OUT toplevel boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_statements_v2'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- As with pg_stat_statements, everyone sees the numbers; query texts of
-- other users only with pg_read_all_stats.  The text is the statement's
-- own part of the query string with its constants replaced by $n.
-- datname comes last so that queries written against the earlier columns
-- keep working; NULL once the database is dropped (its entries stay until
-- a reset, as in pg_stat_statements).
CREATE VIEW steward.statements AS
SELECT s.*, d.datname
  FROM steward._statements() s
  LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid;
GRANT SELECT ON steward.statements TO PUBLIC;

-- Per database and level, sums over every statement including evicted
-- ones: they only grow (until steward.reset()), so Prometheus counters
-- come from here.
CREATE FUNCTION steward._statement_totals(
    OUT dbid oid, OUT calls bigint, OUT errors bigint, OUT rows bigint,
    OUT total_ms double precision, OUT slow_calls bigint, OUT evicted_statements bigint,
    OUT toplevel boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_statement_totals'
LANGUAGE C STRICT VOLATILE;
-- Read by steward.metrics (pg_read_all_stats): the same roles may call it.
REVOKE ALL ON FUNCTION steward._statement_totals() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward._statement_totals() TO pg_read_all_stats;

-- The fixed-size shared structures of the statistics: capacity, entries,
-- evictions, events dropped, collection failures that were swallowed
-- instead of failing a statement, and whether anything is collected at
-- all (not without shared_preload_libraries: then every statistics view
-- answers with no rows, and these rows say why).
CREATE FUNCTION steward._collector(
    OUT structure text, OUT max_entries integer, OUT entries bigint,
    OUT evictions bigint, OUT dropped bigint, OUT collection_failures bigint,
    OUT collected boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_collector'
LANGUAGE C STRICT VOLATILE;
CREATE VIEW steward.collector AS SELECT * FROM steward._collector();
GRANT SELECT ON steward.collector TO PUBLIC;

CREATE FUNCTION steward._statistics_collected()
RETURNS boolean
AS 'MODULE_PATHNAME', 'steward_statistics_collected'
LANGUAGE C STRICT STABLE;

-- Installing without shared_preload_libraries works, and says what is missing.
DO $$
BEGIN
    IF NOT steward._statistics_collected() THEN
        RAISE WARNING 'pg_steward collects no statistics: it is not in shared_preload_libraries'
            USING DETAIL = 'The table access method, steward_hash, idempotency keys and lifecycle rules work; '
                           'steward.statements, waits, lock_contention, hot_rows and the counters stay empty, '
                           'and no background worker purges expired idempotency keys.',
                  HINT = 'Add pg_steward to shared_preload_libraries in postgresql.conf '
                         '(shared_preload_libraries = ''pg_steward'') and restart the server; until then, '
                         'run SELECT steward.idempotency_purge() from cron or pg_cron.';
    END IF;
END
$$;

-- Snapshots of each database's sums, taken by the wait sampler every
-- steward.snapshot_interval and kept in a ring of steward.history_size
-- (history.c).  _history(window_s): one row per snapshot and one for now,
-- each with the sums over the window ending there (NULL: since the
-- previous snapshot).
CREATE FUNCTION steward._history(window_s double precision,
    OUT snapshot_at timestamptz, OUT window_start timestamptz,
    OUT calls bigint, OUT errors bigint, OUT slow_calls bigint, OUT total_ms double precision,
    OUT p50_ms double precision, OUT p95_ms double precision, OUT p99_ms double precision,
    OUT updates bigint, OUT version_conflicts bigint, OUT is_now boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_history'
LANGUAGE C VOLATILE;

CREATE FUNCTION steward.take_snapshot(at timestamptz DEFAULT NULL)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'steward_take_snapshot'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.take_snapshot(timestamptz) IS
  'take a snapshot of the statistics now, labelled "at" (default now; not in the future, not before the newest snapshot)';
REVOKE ALL ON FUNCTION steward.take_snapshot(timestamptz) FROM PUBLIC;

-- Per interval between snapshots, for charts: calls, errors, latency
-- percentiles (coarse histogram: the upper bound of the bucket, never
-- below the true value, at most 22% above), steward-table updates and
-- version conflicts of this database.
CREATE VIEW steward.statement_history AS
SELECT window_start AS interval_start, snapshot_at AS interval_end,
       calls, errors, slow_calls,
       total_ms / nullif(calls, 0) AS mean_ms, p50_ms, p95_ms, p99_ms,
       updates, version_conflicts
  FROM steward._history(NULL)
 WHERE NOT is_now;
GRANT SELECT ON steward.statement_history TO PUBLIC;

-- Per snapshot interval and top statement -- the 16 top-level statements
-- of the cluster with the most total time, kept by both snapshots of the
-- interval -- its calls and latency percentiles (coarse histogram: upper
-- bounds, at most 22% above), for charts of one statement's latency over
-- time (steward-report).
CREATE FUNCTION steward._top_statement_history(
    OUT interval_start timestamptz, OUT interval_end timestamptz, OUT queryid bigint,
    OUT calls bigint, OUT total_ms double precision,
    OUT p50_ms double precision, OUT p95_ms double precision, OUT p99_ms double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_top_statement_history'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW steward.top_statement_history AS
SELECT interval_start, interval_end, queryid, calls,
       total_ms / nullif(calls, 0) AS mean_ms, p50_ms, p95_ms, p99_ms
  FROM steward._top_statement_history();
GRANT SELECT ON steward.top_statement_history TO PUBLIC;

CREATE FUNCTION steward.latency_histogram(queryid bigint,
    OUT lower_ms double precision, OUT upper_ms double precision, OUT count bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_latency_histogram'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.latency_histogram(bigint) IS
  'latency histogram buckets of a statement (NULL: all top-level statements of this database, evicted ones included)';

-- The activity counts are core's (pg_stat_user_tables shows them to
-- everyone); pg_steward's counters (conflicts, rejects, illegal
-- transitions: business events) are NULL where the caller may not see
-- them, by the rule of steward.table_counters(), which leaves such tables
-- out: SELECT on the table and no row security applying, or
-- pg_read_all_stats (as pg_stat_statements shows its counts but not other
-- users' query text); and NULL for every table while nothing is counted
-- (no shared_preload_libraries): a zero there would read as "none".
CREATE VIEW steward.table_stats AS
SELECT s.relid::regclass AS relid,
       s.n_tup_ins AS inserts,
       s.n_tup_upd AS updates,
       s.n_tup_del AS deletes,
       CASE WHEN v.visible THEN coalesce(c.version_conflicts, 0) END AS version_conflicts,
       CASE WHEN v.visible THEN coalesce(c.sequence_rejects, 0) END AS sequence_rejects,
       CASE WHEN v.visible THEN coalesce(c.illegal_transitions, 0) END AS illegal_transitions,
       round(io.heap_blks_hit::numeric / nullif(io.heap_blks_hit + io.heap_blks_read, 0), 4)
           AS heap_hit_ratio
  FROM pg_catalog.pg_stat_user_tables s
  JOIN pg_catalog.pg_class cl ON cl.oid = s.relid
  JOIN pg_catalog.pg_am am ON am.oid = cl.relam AND am.amname = 'steward'
  CROSS JOIN LATERAL (
      SELECT steward._statistics_collected()
             AND (pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')
                  OR (pg_catalog.has_table_privilege(s.relid, 'SELECT')
                      AND NOT pg_catalog.row_security_active(s.relid))) AS visible) v
  LEFT JOIN steward.table_counters() c ON c.relid = s.relid
  LEFT JOIN pg_catalog.pg_statio_user_tables io ON io.relid = s.relid;
GRANT SELECT ON steward.table_stats TO PUBLIC;

-- Primary: one row per WAL sender.  Standby: one row for this server, with
-- the state of its WAL receiver.  Lag in seconds is the age of the oldest
-- WAL not yet replayed (or flushed): 0 when everything the primary has sent
-- is replayed (flushed; also when the primary is idle), NULL when it cannot
-- be known (a standby whose WAL receiver is not streaming -- disconnected,
-- reconnecting, or restoring from an archive -- does not know what it
-- misses).  NULL also says a column does not apply on this server: a
-- standby sends nothing (sent_lag_bytes) and has no sync_state,
-- application_name or client_addr of its own.  A streaming standby gives
-- its flush lag in seconds as it gives its replay lag (newcomer48 N12: it
-- gave NULL next to a replay lag of 0).
CREATE VIEW steward.replication AS
SELECT 'primary'::text AS role, r.application_name, r.client_addr, r.state, r.sync_state,
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.sent_lsn)   AS sent_lag_bytes,
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.flush_lsn)  AS flush_lag_bytes,
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.replay_lsn) AS replay_lag_bytes,
       CASE WHEN r.flush_lsn >= pg_catalog.pg_current_wal_lsn() THEN 0
            ELSE extract(epoch FROM r.flush_lag) END AS flush_lag_seconds,
       CASE WHEN r.replay_lsn >= pg_catalog.pg_current_wal_lsn() THEN 0
            ELSE extract(epoch FROM r.replay_lag) END AS replay_lag_seconds
  FROM pg_catalog.pg_stat_replication r
 WHERE NOT pg_catalog.pg_is_in_recovery()
UNION ALL
SELECT 'standby', NULL, NULL,
       coalesce(w.status, 'no wal receiver'),
       NULL, NULL,
       -- WAL the primary reported having that this standby has not flushed
       CASE WHEN w.status = 'streaming'
            THEN pg_catalog.pg_wal_lsn_diff(w.latest_end_lsn, w.flushed_lsn) END,
       CASE WHEN w.status = 'streaming'
            THEN pg_catalog.pg_wal_lsn_diff(greatest(w.latest_end_lsn,
                                                     pg_catalog.pg_last_wal_receive_lsn()),
                                            pg_catalog.pg_last_wal_replay_lsn()) END,
       -- Flushed everything the primary reported: 0.  Behind: the oldest
       -- unflushed WAL is no older than the oldest unreplayed WAL (replay
       -- never passes flush), so replay's bound below bounds it too.
       CASE WHEN w.status IS DISTINCT FROM 'streaming' THEN NULL
            WHEN w.flushed_lsn >= w.latest_end_lsn THEN 0
            ELSE greatest(extract(epoch FROM pg_catalog.now()
                                             - pg_catalog.pg_last_xact_replay_timestamp()), 0)
       END,
       CASE WHEN w.status IS DISTINCT FROM 'streaming' THEN NULL
            WHEN pg_catalog.pg_last_wal_replay_lsn()
                 >= greatest(w.latest_end_lsn, pg_catalog.pg_last_wal_receive_lsn()) THEN 0
            -- Behind: the oldest unreplayed WAL was written after the last
            -- replayed commit, so this is an upper bound on its age.
            ELSE greatest(extract(epoch FROM pg_catalog.now()
                                             - pg_catalog.pg_last_xact_replay_timestamp()), 0)
       END
  FROM (SELECT 1) one
  LEFT JOIN pg_catalog.pg_stat_wal_receiver w ON true
 WHERE pg_catalog.pg_is_in_recovery();
GRANT SELECT ON steward.replication TO pg_read_all_stats;

CREATE VIEW steward.connections AS
WITH usable AS (
    SELECT current_setting('max_connections')::int
           - current_setting('superuser_reserved_connections')::int AS n)
SELECT coalesce(a.state, 'unknown') AS state, count(*) AS connections,
       (SELECT n FROM usable) AS usable_connections,
       round(count(*)::numeric / (SELECT n FROM usable), 4) AS share
  FROM pg_catalog.pg_stat_activity a
 WHERE a.backend_type = 'client backend'
 GROUP BY 1;
GRANT SELECT ON steward.connections TO pg_read_all_stats;

CREATE VIEW steward.database_hit_ratio AS
SELECT datname, blks_hit, blks_read,
       round(blks_hit::numeric / nullif(blks_hit + blks_read, 0), 4) AS hit_ratio
  FROM pg_catalog.pg_stat_database WHERE datname IS NOT NULL;
GRANT SELECT ON steward.database_hit_ratio TO PUBLIC;

-- Prometheus-style samples: base units, _total counters, histogram
-- _bucket{le}/_sum/_count.  Counters never decrease (evicted statements
-- keep their counts, steward.reset() aside); relation labels are
-- schema-qualified whatever the search_path; series of this database carry
-- its name ("database") and have scope 'database', series of the whole
-- cluster have scope 'cluster' (scrape those from one database only); every
-- steward table of the users (not pg_steward's own, such as
-- steward.migration_runs) has its series from the moment it is one, with
-- zeros, one per table holding rows: per partition, as pg_stat_user_tables
-- and postgres_exporter count, with the partitioned table at the top of its
-- tree as label "parent" (the table itself when it is no partition), so
-- sum by (parent) gives the partitioned table's series,
-- while statistics are collected (without shared_preload_libraries the
-- per-table series are absent, not zeros, and steward_statistics_collected
-- is 0).
CREATE VIEW steward.metrics AS
WITH db AS (SELECT pg_catalog.current_database()::text AS name),
     st AS (SELECT coalesce(sum(t.calls), 0) AS calls, coalesce(sum(t.total_ms), 0) AS total_ms,
                   coalesce(sum(t.errors), 0) AS errors, coalesce(sum(t.slow_calls), 0) AS slow_calls
              FROM steward._statement_totals() t
             WHERE t.toplevel AND t.dbid = (SELECT oid FROM pg_catalog.pg_database
                                             WHERE datname = pg_catalog.current_database())),
     h AS (SELECT upper_ms, count FROM steward.latency_histogram(NULL)),
     le(le) AS (VALUES (0.001), (0.005), (0.01), (0.025), (0.05), (0.1), (0.25), (0.5),
                       (1.0), (2.5), (5.0), (10.0)),
     tables AS (SELECT c.oid AS relid, format('%I.%I', n.nspname, c.relname) AS name,
                       format('%I.%I', pn.nspname, p.relname) AS parent
                  FROM pg_catalog.pg_class c
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  JOIN pg_catalog.pg_am am ON am.oid = c.relam AND am.amname = 'steward'
                  JOIN pg_catalog.pg_class p
                    ON p.oid = coalesce(pg_catalog.pg_partition_root(c.oid), c.oid)
                  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
                 WHERE c.relkind = 'r'
                   AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                                     JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
                                    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                      AND d.objid = c.oid
                                      AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
                                      AND d.deptype = 'e' AND e.extname = 'pg_steward')),
     tc AS (SELECT t.name, t.parent, coalesce(c.version_conflicts, 0) AS version_conflicts,
                   coalesce(c.sequence_rejects, 0) AS sequence_rejects,
                   coalesce(c.illegal_transitions, 0) AS illegal_transitions
              FROM tables t LEFT JOIN steward.table_counters() c ON c.relid = t.relid
             WHERE steward._statistics_collected()),
     declared AS (SELECT DISTINCT r.relid::oid AS relid, split_part(e.edge, '->', 1) AS from_state,
                         split_part(e.edge, '->', 2) AS to_state
                    FROM steward.column_rules r
                    JOIN steward.machine_definitions m ON m.name = r.machine
                    CROSS JOIN LATERAL unnest(m.transitions) e(edge)
                   WHERE r.kind = 'state'),
     counted AS (SELECT relid::oid AS relid, coalesce(from_state, '') AS from_state, to_state,
                        transitions FROM steward.transition_counters()),
     edges AS (SELECT t.name, t.parent, coalesce(d.from_state, c.from_state) AS from_state,
                      coalesce(d.to_state, c.to_state) AS to_state,
                      coalesce(c.transitions, 0) AS transitions
                 FROM declared d
                 FULL JOIN counted c ON c.relid = d.relid AND c.from_state = d.from_state
                                    AND c.to_state = d.to_state
                 JOIN tables t ON t.relid = coalesce(d.relid, c.relid)
                WHERE steward._statistics_collected())
SELECT 'steward_statement_duration_seconds_bucket' AS metric,
       jsonb_build_object('database', db.name, 'le', le.le::text) AS labels,
       (SELECT coalesce(sum(count), 0) FROM h WHERE h.upper_ms <= le.le * 1000)::float8 AS value,
       'histogram' AS type, 'Duration of top-level statements.' AS help, 'database' AS scope
  FROM le, db
UNION ALL SELECT 'steward_statement_duration_seconds_bucket',
       jsonb_build_object('database', db.name, 'le', '+Inf'),
       (SELECT calls FROM st)::float8, 'histogram', 'Duration of top-level statements.', 'database'
  FROM db
UNION ALL SELECT 'steward_statement_duration_seconds_sum', jsonb_build_object('database', db.name),
       (SELECT total_ms / 1000.0 FROM st)::float8, 'histogram', 'Duration of top-level statements.',
       'database'
  FROM db
UNION ALL SELECT 'steward_statement_duration_seconds_count', jsonb_build_object('database', db.name),
       (SELECT calls FROM st)::float8, 'histogram', 'Duration of top-level statements.', 'database'
  FROM db
UNION ALL SELECT 'steward_statement_errors_total', jsonb_build_object('database', db.name),
       (SELECT errors FROM st)::float8, 'counter', 'Failed top-level statements.', 'database'
  FROM db
UNION ALL SELECT 'steward_statement_slow_calls_total', jsonb_build_object('database', db.name),
       (SELECT slow_calls FROM st)::float8, 'counter', 'Calls at or above steward.slow_query_threshold.',
       'database'
  FROM db
UNION ALL SELECT 'steward_version_conflicts_total',
       jsonb_build_object('database', db.name, 'table', tc.name, 'parent', tc.parent),
       tc.version_conflicts::float8, 'counter', 'Updates refused with a stale version.', 'database'
  FROM tc, db
UNION ALL SELECT 'steward_sequence_rejects_total',
       jsonb_build_object('database', db.name, 'table', tc.name, 'parent', tc.parent),
       tc.sequence_rejects::float8, 'counter', 'Out-of-order writes refused.', 'database'
  FROM tc, db
UNION ALL SELECT 'steward_illegal_transitions_total',
       jsonb_build_object('database', db.name, 'table', tc.name, 'parent', tc.parent),
       tc.illegal_transitions::float8, 'counter', 'State changes refused.', 'database'
  FROM tc, db
UNION ALL SELECT 'steward_state_transitions_total',
       jsonb_build_object('database', db.name, 'table', edges.name, 'parent', edges.parent,
                          'from', edges.from_state, 'to', edges.to_state),
       edges.transitions::float8, 'counter', 'State changes committed.', 'database'
  FROM edges, db
UNION ALL SELECT 'steward_idempotency_requests_total',
       jsonb_build_object('database', db.name, 'scope', c.scope, 'outcome', o.outcome),
       o.n::float8, 'counter', 'Idempotency begins by outcome (the outcomes add up to the requests).', 'database'
  FROM steward.idempotency_counters() c,
       LATERAL (VALUES ('new', c.new), ('replay', c.replay), ('mismatch', c.mismatch),
                       ('in_progress', c.in_progress)) o(outcome, n),
       db
UNION ALL SELECT 'steward_idempotency_expired_keys_total',
       jsonb_build_object('database', db.name, 'scope', c.scope),
       c.expired::float8, 'counter',
       'Idempotency begins that found their key expired (each also a request by its outcome, usually new).', 'database'
  FROM steward.idempotency_counters() c, db
UNION ALL SELECT 'steward_idempotency_keys_purged_total',
       jsonb_build_object('database', db.name, 'scope', c.scope),
       c.purged::float8, 'counter', 'Expired idempotency keys deleted by the purge.', 'database'
  FROM steward.idempotency_counters() c, db
UNION ALL SELECT 'steward_buffer_hit_ratio', jsonb_build_object('database', datname),
       hit_ratio::float8, 'gauge', 'Shared buffer hit ratio.', 'database'
  FROM steward.database_hit_ratio
 WHERE hit_ratio IS NOT NULL AND datname = pg_catalog.current_database()
UNION ALL SELECT 'steward_replication_lag_bytes',
       jsonb_build_object('role', role, 'standby', coalesce(application_name, '')),
       replay_lag_bytes::float8, 'gauge', 'Replay lag in bytes.', 'cluster'
  FROM steward.replication
UNION ALL SELECT 'steward_replication_lag_seconds',
       jsonb_build_object('role', role, 'standby', coalesce(application_name, '')),
       coalesce(replay_lag_seconds, 0)::float8, 'gauge', 'Replay lag in seconds.', 'cluster'
  FROM steward.replication
UNION ALL SELECT 'steward_connections', jsonb_build_object('state', state),
       connections::float8, 'gauge', 'Client connections by state.', 'cluster'
  FROM steward.connections
UNION ALL SELECT 'steward_connections_usable', '{}',
       (current_setting('max_connections')::int
        - current_setting('superuser_reserved_connections')::int)::float8,
       'gauge', 'max_connections minus reserved connections.', 'cluster'
UNION ALL SELECT 'steward_collector_entries', jsonb_build_object('structure', structure),
       entries::float8, 'gauge', 'Entries in use in a fixed-size statistics structure.', 'cluster'
  FROM steward.collector
UNION ALL SELECT 'steward_collector_evictions_total', jsonb_build_object('structure', structure),
       evictions::float8, 'counter', 'Entries evicted from a full statistics structure.', 'cluster'
  FROM steward.collector
UNION ALL SELECT 'steward_collector_dropped_total', jsonb_build_object('structure', structure),
       dropped::float8, 'counter', 'Events a full statistics structure could not count.', 'cluster'
  FROM steward.collector
UNION ALL SELECT 'steward_collector_failures_total', '{}',
       (SELECT max(collection_failures) FROM steward.collector)::float8, 'counter',
       'Statistics collection errors swallowed instead of failing a statement.', 'cluster'
UNION ALL SELECT 'steward_migrations_total', jsonb_build_object('database', db.name, 'result', m.result),
       m.n::float8, 'counter',
       'Online migrations completed (cleaned up), rolled back, and that failed at least once.', 'database'
  FROM db, (SELECT 'completed' AS result, count(*) FILTER (WHERE status = 'cleaned_up') AS n
              FROM steward.migration_runs
            UNION ALL
            SELECT 'rolled_back', count(*) FILTER (WHERE status = 'rolled_back')
              FROM steward.migration_runs
            UNION ALL
            SELECT 'failed', count(*) FILTER (WHERE failures > 0)
              FROM steward.migration_runs) m
UNION ALL SELECT 'steward_migrations_in_progress', jsonb_build_object('database', db.name),
       (SELECT count(*) FROM steward.migration_runs WHERE status = 'active')::float8, 'gauge',
       'Online migrations started and not yet cleaned up or rolled back.', 'database'
  FROM db
UNION ALL SELECT 'steward_migration_rollout_seconds',
       jsonb_build_object('database', db.name, 'migration', r.name),
       extract(epoch FROM coalesce(r.switched_at, r.rolled_back_at, pg_catalog.clock_timestamp())
                          - r.started_at)::float8, 'gauge',
       'Rollout time of a migration: start to switch (or rollback), so far if still running.', 'database'
  FROM db, steward.migration_runs r
UNION ALL SELECT 'steward_statistics_collected', '{}',
       CASE WHEN steward._statistics_collected() THEN 1 ELSE 0 END::float8, 'gauge',
       '1 if pg_steward is in shared_preload_libraries and collects statistics, else 0.', 'cluster'
UNION ALL SELECT 'steward_governor_decisions_total',
       jsonb_build_object('decision', d.decision, 'reason', d.reason),
       d.decisions::float8, 'counter',
       'Pacing decisions the governor made for background jobs (one per job per measurement).', 'cluster'
  FROM steward._governor_decisions() d
UNION ALL SELECT 'steward_governor_jobs', '{}',
       (SELECT count(*) FROM steward._governor_jobs() j WHERE j.finished_at IS NULL)::float8,
       'gauge', 'Background jobs paced by the governor now.', 'cluster';
GRANT SELECT ON steward.metrics TO pg_read_all_stats;

