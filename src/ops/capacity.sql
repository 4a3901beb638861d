--------------------------------------------------------------------------
-- Capacity: measured samples and the guide's capacity math (src/ops)
--------------------------------------------------------------------------

-- Measured capacity: samples of steward tables' write counters and sizes,
-- taken by the purge worker's visit every steward.capacity_sample_interval
-- and kept for steward.capacity_window.
CREATE TABLE steward.capacity_samples (
    sampled_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    relid      oid         NOT NULL,
    writes     bigint      NOT NULL,
    bytes      bigint      NOT NULL,
    PRIMARY KEY (relid, sampled_at)
);
REVOKE ALL ON steward.capacity_samples FROM PUBLIC;
-- The size history behind steward.capacity, for charts (steward-report):
-- the roles that may read the view may read its samples.
GRANT SELECT ON steward.capacity_samples TO pg_read_all_stats;

CREATE TABLE steward.table_retention (
    relid     regclass PRIMARY KEY,
    retention interval NOT NULL CHECK (retention > interval '0')
);
-- Only rows of relations that exist are dumped: a row left by a drop no
-- event trigger saw (single-user mode) names a bare OID, which a restore
-- would bind to whichever relation has it there.
SELECT pg_catalog.pg_extension_config_dump('steward.table_retention',
    'WHERE EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) relid::pg_catalog.oid)');
REVOKE ALL ON steward.table_retention FROM PUBLIC;
GRANT SELECT ON steward.table_retention TO PUBLIC;

-- A dropped table takes its rows in the tables keyed by its OID that no
-- other drop handling covers (column_rules and state_checks:
-- steward._rules_on_sql_drop; the migration catalog:
-- steward._migrations_on_sql_drop): its retention setting, capacity
-- samples, validation and transition runs.  A row left behind would name
-- a bare OID, which pg_dump writes as a number and a restored cluster (or
-- this one, once OIDs wrap around) binds to whatever relation gets it:
-- another table's retention, another owner's history made visible to
-- the new table's owner by the tables' row security.  Where this handler
-- did not run, each capacity sample deletes the samples, validation and
-- transition runs of relations gone (steward._capacity_sample).
CREATE FUNCTION steward._tables_on_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped oid[];
BEGIN
    IF to_regclass('steward.table_retention') IS NULL THEN
        RETURN;     -- the extension itself is being dropped
    END IF;
    SELECT array_agg(d.objid) INTO dropped
      FROM pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0;
    IF dropped IS NULL THEN
        RETURN;
    END IF;
    -- One read instead of four writes where no row names them (an index,
    -- a table never configured nor sampled: ddl2).
    IF NOT EXISTS (SELECT 1 FROM steward.table_retention r WHERE r.relid::oid = ANY (dropped))
       AND NOT EXISTS (SELECT 1 FROM steward.capacity_samples s WHERE s.relid = ANY (dropped))
       AND NOT EXISTS (SELECT 1 FROM steward.validation_runs v WHERE v.relid::oid = ANY (dropped))
       AND NOT EXISTS (SELECT 1 FROM steward.transition_runs t WHERE t.relid::oid = ANY (dropped)) THEN
        RETURN;
    END IF;
    DELETE FROM steward.table_retention r WHERE r.relid::oid = ANY (dropped);
    DELETE FROM steward.capacity_samples s WHERE s.relid = ANY (dropped);
    -- Only where rows are: a DELETE's plan is checked against every
    -- publication of the table (validation_runs' replica identity is FULL).
    IF EXISTS (SELECT 1 FROM steward.validation_runs v WHERE v.relid::oid = ANY (dropped)) THEN
        DELETE FROM steward.validation_runs v WHERE v.relid::oid = ANY (dropped);
    END IF;
    DELETE FROM steward.transition_runs t WHERE t.relid::oid = ANY (dropped);
END
$$;
REVOKE ALL ON FUNCTION steward._tables_on_sql_drop() FROM PUBLIC;
CREATE EVENT TRIGGER steward_tables_sql_drop ON sql_drop
    EXECUTE FUNCTION steward._tables_on_sql_drop();
ALTER EVENT TRIGGER steward_tables_sql_drop ENABLE ALWAYS;

-- A table's sizes if no other session holds a conflicting lock on it
-- (NULLs otherwise), no row if it was dropped (C: conditional locks).
CREATE FUNCTION steward._relation_sizes(rel oid, OUT table_bytes bigint, OUT total_bytes bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_relation_sizes'
LANGUAGE C VOLATILE ROWS 1;
-- Only steward.capacity (pg_read_all_stats) and the samples read it.
REVOKE ALL ON FUNCTION steward._relation_sizes(oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward._relation_sizes(oid) TO pg_read_all_stats;

CREATE FUNCTION steward._capacity_sample(force boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    busy text[];
BEGIN
    IF pg_is_in_recovery() THEN
        IF force THEN
            RAISE EXCEPTION 'capacity samples are taken on the primary'
                USING ERRCODE = 'read_only_sql_transaction',
                      DETAIL = 'This server is a standby; it receives the primary''s samples through replication.',
                      HINT = 'Call steward.capacity_sample() on the primary; steward.capacity answers here from the replicated samples.';
        END IF;
        RETURN;
    END IF;
    IF NOT force AND EXISTS (
        SELECT 1 FROM steward.capacity_samples
         WHERE sampled_at > now() - make_interval(
                   secs => steward.setting_value('steward.capacity_sample_interval'))) THEN
        RETURN;
    END IF;
    -- Sizes only of tables nobody holds a conflicting lock on, and that
    -- still exist (steward._relation_sizes): a table locked by another
    -- session or dropped meanwhile is left out of this sample, not waited
    -- for and not recorded without a size.
    WITH sized AS MATERIALIZED (
        SELECT c.oid, z.total_bytes
          FROM (SELECT c.oid FROM pg_class c
                  JOIN pg_am a ON a.oid = c.relam AND a.amname = 'steward'
                 WHERE c.relkind = 'r' AND c.relpersistence <> 't' OFFSET 0) c
         CROSS JOIN LATERAL steward._relation_sizes(c.oid) z),
    ins AS (
        INSERT INTO steward.capacity_samples (relid, writes, bytes)
        SELECT z.oid, coalesce(s.n_tup_ins + s.n_tup_upd + s.n_tup_del, 0), z.total_bytes
          FROM sized z
          LEFT JOIN pg_stat_user_tables s ON s.relid = z.oid
         WHERE z.total_bytes IS NOT NULL
        ON CONFLICT DO NOTHING)
    SELECT array_agg(z.oid::regclass::text ORDER BY z.oid::regclass::text) INTO busy
      FROM sized z WHERE z.total_bytes IS NULL;
    IF force AND busy IS NOT NULL THEN
        PERFORM steward._report('notice',
                format('capacity sample left out %s table(s) that other sessions hold locks on', cardinality(busy)),
                detail => format('Left out: %s.', array_to_string(busy, ', ')),
                hint => 'The next sample measures them once the locks are released; pg_locks shows who holds them.');
    END IF;
    DELETE FROM steward.capacity_samples
     WHERE sampled_at < now() - make_interval(secs => steward.setting_value('steward.capacity_window'))
        OR NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = relid);
    -- Validation and transition runs of tables dropped where
    -- steward._tables_on_sql_drop did not run (single-user mode, its event
    -- trigger disabled): a later table given the OID would show them as
    -- its own, to its owner (the tables' row security).  Deleted only
    -- where such rows are (a DELETE of validation_runs is checked against
    -- its publications).
    IF EXISTS (SELECT 1 FROM steward.validation_runs v
                WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = v.relid::oid)) THEN
        DELETE FROM steward.validation_runs v
         WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = v.relid::oid);
    END IF;
    DELETE FROM steward.transition_runs t
     WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.relid::oid);
END
$$;
REVOKE ALL ON FUNCTION steward._capacity_sample(boolean) FROM PUBLIC;

-- Take a sample now (the worker takes them on its own schedule).
-- PL/pgSQL, as the other entry points: its errors come without
-- pg_steward's CONTEXT lines (the standby's 25006 among them).
CREATE FUNCTION steward.capacity_sample()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM steward._capacity_sample(true);
END
$$;
REVOKE ALL ON FUNCTION steward.capacity_sample() FROM PUBLIC;
COMMENT ON FUNCTION steward.capacity_sample() IS
  'takes a capacity sample now (the background worker takes them on its own schedule); refused on a standby';

-- C: the ownership check must see the current user (SET ROLE included),
-- which a SECURITY DEFINER function cannot.
CREATE FUNCTION steward.set_retention(tbl regclass, retention interval)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_set_retention'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.set_retention(regclass, interval) IS
  'how long rows of a table are kept, for steward.capacity (NULL removes it)';

CREATE FUNCTION steward._data_dir_space(OUT free_bytes bigint, OUT total_bytes bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'steward_data_dir_space'
LANGUAGE C STRICT VOLATILE;
-- Only steward.capacity (pg_read_all_stats) reads it.
REVOKE ALL ON FUNCTION steward._data_dir_space() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward._data_dir_space() TO pg_read_all_stats;

-- Per steward table (and one row for the database, relid NULL): measured
-- write rate, row width, index overhead, copies, retention, growth, days
-- until the data directory's disk is full, size against shared_buffers,
-- and a recommendation.
CREATE VIEW steward.capacity AS
-- Writes are counted like a Prometheus rate(): between consecutive samples,
-- a counter that went down was reset (a restart after a crash, a stats
-- reset) and counts from zero, so a reset never yields a negative rate.
-- Growth is the least-squares slope of the table's size over the samples,
-- shown with its r² and only once the samples span
-- steward.capacity_min_history (a few minutes of bytes do not make a
-- plan); writes/s and growth/day come from the same samples.
WITH s AS (
    SELECT relid, sampled_at, writes, bytes,
           lag(writes) OVER (PARTITION BY relid ORDER BY sampled_at) AS prev_writes
      FROM steward.capacity_samples),
ends AS (
    SELECT relid, min(sampled_at) AS t0, max(sampled_at) AS t1,
           sum(CASE WHEN prev_writes IS NULL THEN 0
                    WHEN writes >= prev_writes THEN writes - prev_writes
                    ELSE writes END) AS writes,
           regr_slope(bytes, extract(epoch FROM sampled_at)) * 86400 AS slope_per_day,
           regr_r2(bytes, extract(epoch FROM sampled_at)) AS r2
      FROM s GROUP BY relid),
env AS (
    SELECT (SELECT free_bytes FROM steward._data_dir_space()) AS free_bytes,
           (SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers') AS sb_bytes,
           (SELECT setting::float8 FROM pg_settings
             WHERE name = 'steward.capacity_min_history') AS min_history_s,
           -- copies of the data: this server and its physical standbys;
           -- logical subscribers hold what they subscribe to, not a copy
           CASE WHEN current_setting('steward.replication_factor')::float8 >= 1
                THEN current_setting('steward.replication_factor')::float8::int
                ELSE 1 + (SELECT count(*)::int FROM pg_stat_replication r
                           WHERE r.state = 'streaming'
                             AND NOT EXISTS (SELECT 1 FROM pg_replication_slots sl
                                              WHERE sl.active_pid = r.pid
                                                AND sl.slot_type = 'logical'))
           END AS copies,
           -- (a subscription's table-sync slots come and go: not counted)
           (SELECT count(*)::int FROM pg_replication_slots
             WHERE slot_type = 'logical' AND slot_name !~ '^pg_[0-9]+_sync_')
               AS logical_subscribers),
t AS (
    SELECT c.oid::regclass AS relid,
           CASE WHEN e.t1 > e.t0 THEN e.writes / extract(epoch FROM e.t1 - e.t0) END
               AS writes_per_sec,
           -- bytes on disk per row, not the width of a row's data: the
           -- table's size (TOAST, free space and dead rows included) over
           -- reltuples, so what a row costs as the table is kept; indexes
           -- are the overhead
           z.table_bytes::numeric / nullif(greatest(c.reltuples, 0), 0)::numeric AS avg_row_bytes,
           z.total_bytes::numeric / nullif(z.table_bytes, 0) AS index_overhead,
           r.retention,
           CASE WHEN extract(epoch FROM e.t1 - e.t0) >= env.min_history_s
                THEN e.slope_per_day END AS growth_bytes_per_day,
           z.total_bytes,
           e.t1 - e.t0 AS history,
           CASE WHEN extract(epoch FROM e.t1 - e.t0) >= env.min_history_s THEN e.r2 END AS r2
      FROM (SELECT c.oid, c.reltuples FROM pg_class c
              JOIN pg_am a ON a.oid = c.relam AND a.amname = 'steward'
             WHERE c.relkind = 'r' AND c.relnamespace <> 'steward'::regnamespace
            OFFSET 0) c
      -- sizes without waiting for a lock another session holds (NULL
      -- then); a table dropped since this query's snapshot is left out
      CROSS JOIN LATERAL steward._relation_sizes(c.oid) z
      CROSS JOIN env
      LEFT JOIN ends e ON e.relid = c.oid
      LEFT JOIN steward.table_retention r ON r.relid = c.oid),
rows AS (
    SELECT relid, writes_per_sec, avg_row_bytes, index_overhead, retention,
           growth_bytes_per_day, total_bytes, history, r2 FROM t
    UNION ALL
    SELECT NULL, sum(writes_per_sec), sum(total_bytes)::numeric / nullif(sum(total_bytes / nullif(avg_row_bytes, 0)), 0),
           sum(total_bytes)::numeric / nullif(sum(total_bytes / nullif(index_overhead, 0)), 0),
           NULL, sum(growth_bytes_per_day), sum(total_bytes), min(history), NULL
      FROM t)
SELECT r.relid,
       round(r.writes_per_sec::numeric, 3) AS writes_per_sec,
       round(r.avg_row_bytes, 1) AS avg_row_bytes,
       round(r.index_overhead, 2) AS index_overhead,
       env.copies AS replication_factor,
       r.retention,
       round(r.growth_bytes_per_day::numeric) AS growth_bytes_per_day,
       CASE WHEN r.growth_bytes_per_day > 0
            THEN round((env.free_bytes / r.growth_bytes_per_day)::numeric, 1) END AS days_until_full,
       r.total_bytes,
       round(r.total_bytes::numeric / env.sb_bytes, 3) AS size_vs_shared_buffers,
       CASE
           WHEN r.growth_bytes_per_day > 0 AND env.free_bytes / r.growth_bytes_per_day < 30 THEN
               format('the disk fills in %s days at this rate: add storage%s',
                      round((env.free_bytes / r.growth_bytes_per_day)::numeric),
                      CASE WHEN r.relid IS NOT NULL AND r.retention IS NULL
                           THEN ', or set a retention with steward.set_retention()' ELSE '' END)
           WHEN r.relid IS NOT NULL AND r.total_bytes IS NULL THEN
               'not measured now: another session holds a lock on the table (pg_locks); read again later'
           WHEN r.history IS NULL OR r.history = interval '0' THEN
               'not enough samples yet to measure growth (steward.capacity_sample())'
           WHEN extract(epoch FROM r.history) < env.min_history_s THEN
               format('insufficient history: %s min of %s',
                      floor(extract(epoch FROM r.history) / 60), ceil(env.min_history_s / 60))
           WHEN r.total_bytes > env.sb_bytes THEN
               'larger than shared_buffers: make sure its hot part fits in memory'
           ELSE 'ok'
       END AS recommendation,
       r.history,
       round(r.r2::numeric, 3) AS growth_r2,
       env.logical_subscribers
  FROM rows r, env;
GRANT SELECT ON steward.capacity TO pg_read_all_stats;
COMMENT ON COLUMN steward.capacity.avg_row_bytes IS
  'bytes on disk per row: the table''s size (heap and TOAST, free space and dead rows included) over pg_class.reltuples (the estimate of the last VACUUM or ANALYZE); above the width of a row''s data by the table''s bloat';


-- The guide's capacity math: writes/day from peak writes, times row size,
-- index overhead, replication and retention; working set as a fraction.
CREATE FUNCTION steward.capacity_estimate(
    peak_writes_per_sec numeric, avg_row_bytes numeric, index_overhead numeric,
    replication_factor integer, retention_days numeric, working_set_fraction numeric,
    OUT writes_per_day numeric, OUT raw_bytes_per_day numeric,
    OUT with_indexes_bytes_per_day numeric, OUT replicated_bytes_per_day numeric,
    OUT retained_bytes numeric, OUT working_set_bytes numeric, OUT implications text)
RETURNS record
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    arg text;
BEGIN
    IF peak_writes_per_sec IS NULL OR avg_row_bytes IS NULL OR index_overhead IS NULL
       OR replication_factor IS NULL OR retention_days IS NULL
       OR working_set_fraction IS NULL THEN
        RAISE EXCEPTION 'capacity_estimate arguments must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    arg := CASE
        WHEN peak_writes_per_sec <= 0 OR peak_writes_per_sec > 1e9 THEN
            format('peak_writes_per_sec must be in (0, 1e9], got %s', peak_writes_per_sec)
        WHEN avg_row_bytes <= 0 OR avg_row_bytes > 1e9 THEN
            format('avg_row_bytes must be in (0, 1e9], got %s', avg_row_bytes)
        WHEN index_overhead < 1 OR index_overhead > 100 THEN
            format('index_overhead is a multiplier of the data size and must be in [1, 100], got %s', index_overhead)
        WHEN replication_factor < 1 OR replication_factor > 100 THEN
            format('replication_factor counts copies and must be in [1, 100], got %s', replication_factor)
        WHEN retention_days <= 0 OR retention_days > 36500 THEN
            format('retention_days must be in (0, 36500], got %s', retention_days)
        WHEN working_set_fraction < 0 OR working_set_fraction > 1 THEN
            format('working_set_fraction must be in [0, 1], got %s', working_set_fraction)
    END;
    IF arg IS NOT NULL THEN
        RAISE EXCEPTION '%', arg USING ERRCODE = 'invalid_parameter_value';
    END IF;

    writes_per_day := peak_writes_per_sec * 86400;
    raw_bytes_per_day := writes_per_day * avg_row_bytes;
    with_indexes_bytes_per_day := raw_bytes_per_day * index_overhead;
    replicated_bytes_per_day := with_indexes_bytes_per_day * replication_factor;
    retained_bytes := replicated_bytes_per_day * retention_days;
    working_set_bytes := retained_bytes * working_set_fraction;
    -- Decimal units (GB = 1e9 bytes), as capacity plans are written.
    implications := format(
        '%s million writes/day at a peak of %s/s (plan for the peak, sustained); '
        '%s GB of raw rows per day, %s GB with indexes, %s GB across %s copies; '
        '%s TB stored after %s days; a working set of %s GB should be fast to read: '
        'compare it with memory and shared_buffers, and validate with real latency, IOPS and cache hit metrics.',
        round(writes_per_day / 1e6, 1), peak_writes_per_sec,
        round(raw_bytes_per_day / 1e9, 1), round(with_indexes_bytes_per_day / 1e9, 1),
        round(replicated_bytes_per_day / 1e9, 1), replication_factor,
        round(retained_bytes / 1e12, 2), retention_days,
        round(working_set_bytes / 1e9, 1));
END
$$;
COMMENT ON FUNCTION steward.capacity_estimate(numeric, numeric, numeric, integer, numeric, numeric) IS
  'the guide''s capacity math: writes/day, bytes/day raw, with indexes, replicated, retained, working set';

-- The same, as the guide's table: one row per assumption.  PL/pgSQL, as
-- the other entry points: capacity_estimate's 22023 comes without
-- pg_steward's CONTEXT lines.
CREATE FUNCTION steward.capacity_report(
    peak_writes_per_sec numeric, avg_row_bytes numeric, index_overhead numeric,
    replication_factor integer, retention_days numeric, working_set_fraction numeric)
RETURNS TABLE (assumption text, example_value text, capacity_implication text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT a, v, i
      FROM steward.capacity_estimate($1, $2, $3, $4, $5, $6) e,
           LATERAL (VALUES
             (1, 'Peak writes', format('%s writes/sec', $1),
                 format('%s million writes/day', round(e.writes_per_day / 1e6, 1))),
             (2, 'Avg row size', format('%s bytes', $2),
                 format('%s GB/day raw data', round(e.raw_bytes_per_day / 1e9, 1))),
             (3, 'Index overhead', format('%s× data', $3),
                 format('%s GB/day including indexes', round(e.with_indexes_bytes_per_day / 1e9, 1))),
             (4, 'Replication factor', format('%s copies', $4),
                 format('%s GB/day stored', round(e.replicated_bytes_per_day / 1e9, 1))),
             (5, 'Retention', format('%s days', $5),
                 format('%s TB stored', round(e.retained_bytes / 1e12, 2))),
             (6, 'Working set', format('%s%% hot data', round($6 * 100, 1)),
                 format('%s GB should be fast to read', round(e.working_set_bytes / 1e9, 1)))
           ) r(n, a, v, i)
     ORDER BY n;
END
$$;
COMMENT ON FUNCTION steward.capacity_report(numeric, numeric, numeric, integer, numeric, numeric) IS
  'the guide''s capacity table: capacity_estimate as one row per assumption';

