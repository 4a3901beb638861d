/* pg_steward--0.1--0.2.sql: every SQL change of release 0.2.
 *
 * Rules (README "Upgrading"): this script is applied by
 * ALTER EXTENSION pg_steward UPDATE to a database at 0.1 and must leave
 * exactly the objects of a fresh 0.2 install (test/t/012_upgrade.pl
 * compares the two).  Each change here is also made in the subsystem's own
 * SQL file under src/, which builds the fresh install script.  The library
 * reads the extension's catalog tables by column name, so tables may gain
 * columns here with ALTER TABLE; a column is never dropped or retyped in
 * place while a released library could still read it.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_steward UPDATE TO '0.2'" to load this file. \quit

-- The control file's comment is applied only by CREATE EXTENSION.
COMMENT ON EXTENSION pg_steward IS
  'OLTP discipline in PostgreSQL: row versions, monotonic sequences, state machines and backfills (steward table AM), idempotency keys (steward_hash index), latency/lock/replication/capacity/health views and metrics, verify, restore drills, read-your-writes tokens';

-- steward_hash operator classes for every type core hash indexes (issue 13).
-- Every type core hash indexes, with core hash's equality semantics: the
-- support function is the type's own extended hash function, the one core
-- hash uses, so values that "=" calls equal hash alike (interval '1 day'
-- and '24 hours', float8 '-0' and 0, NaN and NaN, bpchar trailing blanks).
-- Polymorphic classes (arrays, ranges, multiranges, enums, records) hash
-- through the element or field types' own hash support.
CREATE OPERATOR CLASS steward.name_ops DEFAULT FOR TYPE name
    USING steward_hash FAMILY steward.text_ops AS
    OPERATOR 1 = (name, name),
    FUNCTION 1 pg_catalog.hashnameextended(name, int8);
ALTER OPERATOR FAMILY steward.text_ops USING steward_hash ADD
    OPERATOR 1 = (name, text),
    OPERATOR 1 = (text, name);
CREATE OPERATOR CLASS steward.bpchar_ops DEFAULT FOR TYPE bpchar
    USING steward_hash AS
    OPERATOR 1 = (bpchar, bpchar),
    FUNCTION 1 pg_catalog.hashbpcharextended(bpchar, int8);
CREATE OPERATOR CLASS steward.char_ops DEFAULT FOR TYPE "char"
    USING steward_hash AS
    OPERATOR 1 = ("char", "char"),
    FUNCTION 1 pg_catalog.hashcharextended("char", int8);
CREATE OPERATOR CLASS steward.bool_ops DEFAULT FOR TYPE bool
    USING steward_hash AS
    OPERATOR 1 = (bool, bool),
    FUNCTION 1 pg_catalog.hashcharextended("char", int8);
-- float4 hashes as float8, so one family serves both and their comparisons.
CREATE OPERATOR FAMILY steward.float_ops USING steward_hash;
CREATE OPERATOR CLASS steward.float4_ops DEFAULT FOR TYPE float4
    USING steward_hash FAMILY steward.float_ops AS
    OPERATOR 1 = (float4, float4),
    FUNCTION 1 pg_catalog.hashfloat4extended(float4, int8);
CREATE OPERATOR CLASS steward.float8_ops DEFAULT FOR TYPE float8
    USING steward_hash FAMILY steward.float_ops AS
    OPERATOR 1 = (float8, float8),
    FUNCTION 1 pg_catalog.hashfloat8extended(float8, int8);
ALTER OPERATOR FAMILY steward.float_ops USING steward_hash ADD
    OPERATOR 1 = (float4, float8),
    OPERATOR 1 = (float8, float4);
CREATE OPERATOR CLASS steward.interval_ops DEFAULT FOR TYPE interval
    USING steward_hash AS
    OPERATOR 1 = (interval, interval),
    FUNCTION 1 pg_catalog.interval_hash_extended(interval, int8);
CREATE OPERATOR CLASS steward.time_ops DEFAULT FOR TYPE time
    USING steward_hash AS
    OPERATOR 1 = (time, time),
    FUNCTION 1 pg_catalog.time_hash_extended(time, int8);
CREATE OPERATOR CLASS steward.timetz_ops DEFAULT FOR TYPE timetz
    USING steward_hash AS
    OPERATOR 1 = (timetz, timetz),
    FUNCTION 1 pg_catalog.timetz_hash_extended(timetz, int8);
CREATE OPERATOR CLASS steward.oid_ops DEFAULT FOR TYPE oid
    USING steward_hash AS
    OPERATOR 1 = (oid, oid),
    FUNCTION 1 pg_catalog.hashoidextended(oid, int8);
CREATE OPERATOR CLASS steward.xid_ops DEFAULT FOR TYPE xid
    USING steward_hash AS
    OPERATOR 1 = (xid, xid),
    FUNCTION 1 pg_catalog.hashint4extended(int4, int8);
CREATE OPERATOR CLASS steward.xid8_ops DEFAULT FOR TYPE xid8
    USING steward_hash AS
    OPERATOR 1 = (xid8, xid8),
    FUNCTION 1 pg_catalog.hashint8extended(int8, int8);
CREATE OPERATOR CLASS steward.pg_lsn_ops DEFAULT FOR TYPE pg_lsn
    USING steward_hash AS
    OPERATOR 1 = (pg_lsn, pg_lsn),
    FUNCTION 1 pg_catalog.pg_lsn_hash_extended(pg_lsn, int8);
-- cidr columns use this class: cidr is binary coercible to inet.
CREATE OPERATOR CLASS steward.inet_ops DEFAULT FOR TYPE inet
    USING steward_hash AS
    OPERATOR 1 = (inet, inet),
    FUNCTION 1 pg_catalog.hashinetextended(inet, int8);
CREATE OPERATOR CLASS steward.macaddr_ops DEFAULT FOR TYPE macaddr
    USING steward_hash AS
    OPERATOR 1 = (macaddr, macaddr),
    FUNCTION 1 pg_catalog.hashmacaddrextended(macaddr, int8);
CREATE OPERATOR CLASS steward.macaddr8_ops DEFAULT FOR TYPE macaddr8
    USING steward_hash AS
    OPERATOR 1 = (macaddr8, macaddr8),
    FUNCTION 1 pg_catalog.hashmacaddr8extended(macaddr8, int8);
CREATE OPERATOR CLASS steward.jsonb_ops DEFAULT FOR TYPE jsonb
    USING steward_hash AS
    OPERATOR 1 = (jsonb, jsonb),
    FUNCTION 1 pg_catalog.jsonb_hash_extended(jsonb, int8);
CREATE OPERATOR CLASS steward.enum_ops DEFAULT FOR TYPE anyenum
    USING steward_hash AS
    OPERATOR 1 = (anyenum, anyenum),
    FUNCTION 1 pg_catalog.hashenumextended(anyenum, int8);
CREATE OPERATOR CLASS steward.array_ops DEFAULT FOR TYPE anyarray
    USING steward_hash AS
    OPERATOR 1 = (anyarray, anyarray),
    FUNCTION 1 pg_catalog.hash_array_extended(anyarray, int8);
CREATE OPERATOR CLASS steward.range_ops DEFAULT FOR TYPE anyrange
    USING steward_hash AS
    OPERATOR 1 = (anyrange, anyrange),
    FUNCTION 1 pg_catalog.hash_range_extended(anyrange, int8);
CREATE OPERATOR CLASS steward.multirange_ops DEFAULT FOR TYPE anymultirange
    USING steward_hash AS
    OPERATOR 1 = (anymultirange, anymultirange),
    FUNCTION 1 pg_catalog.hash_multirange_extended(anymultirange, int8);
CREATE OPERATOR CLASS steward.record_ops DEFAULT FOR TYPE record
    USING steward_hash AS
    OPERATOR 1 = (record, record),
    FUNCTION 1 pg_catalog.hash_record_extended(record, int8);

-- Restore drills from pgBackRest backups and point-in-time targets record
-- where the backup came from and the recovery point achieved (issue 22).
ALTER TABLE steward.restore_drills
    ADD COLUMN backup_source text,
    ADD COLUMN backup_label  text,
    ADD COLUMN backup_time   timestamptz,
    ADD COLUMN recovered_to  timestamptz;

-- Replication, health and capacity that tell the truth (issue 22): a standby
-- without a WAL receiver, expected standbys, counter resets, TOAST bytes.
-- Primary: one row per WAL sender.  Standby: one row for this server, with
-- the state of its WAL receiver.  Lag in seconds is the age of the oldest
-- WAL not yet replayed: 0 when everything the primary has sent is replayed
-- (also when the primary is idle), NULL when it cannot be known (a standby
-- whose WAL receiver is not streaming -- disconnected, reconnecting, or
-- restoring from an archive -- does not know what it misses).
CREATE OR REPLACE VIEW steward.replication AS
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
       NULL,
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
-- One row per check, with the guide's "typical first response".
CREATE OR REPLACE VIEW steward.health AS
WITH v AS (
    SELECT 'p99_latency_ms' AS check_name,
           (SELECT max(p99_ms) FROM steward.statements WHERE calls > 0) AS value,
           current_setting('steward.health_p99_ms_warn')::float8 AS warn,
           current_setting('steward.health_p99_ms_critical')::float8 AS critical,
           false AS lower_is_worse,
           'Check slow queries and indexes' AS first_response, 1 AS ord
    UNION ALL
    SELECT 'slow_call_rate',
           (SELECT sum(slow_calls)::float8 / nullif(sum(calls), 0) FROM steward.statements),
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
           current_setting('steward.health_replication_lag_s_warn')::float8,
           current_setting('steward.health_replication_lag_s_critical')::float8, false,
           'Read-from-leader for RYW, reduce load', 4
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
           0.8 * current_setting('steward.drill_max_age')::float8,
           current_setting('steward.drill_max_age')::float8, false,
           'Run steward-drill; restore drills are part of delivering the database', 8
    UNION ALL
    SELECT 'restore_drill_duration_s',
           (SELECT duration_s::float8 FROM steward.restore_drills
             WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1),
           0.8 * current_setting('steward.rto_seconds')::float8,
           current_setting('steward.rto_seconds')::float8, false,
           'Improve restore throughput, adjust backup schedule', 9
    UNION ALL
    SELECT 'restore_drill_failed',
           (SELECT CASE WHEN result = 'failed' THEN 1 ELSE 0 END::float8 FROM steward.restore_drills
             WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1),
           1, 1, false,
           'Read steward.restore_drills.details; fix the backup before trusting it', 10
    UNION ALL
    -- The newest backup a drill has restored, and the recovery point a
    -- drill to a target time achieved (target minus last replayed commit).
    SELECT 'backup_age_s',
           (SELECT extract(epoch FROM now() - max(backup_time))::float8
              FROM steward.restore_drills WHERE result = 'passed'),
           0.8 * current_setting('steward.backup_max_age')::float8,
           current_setting('steward.backup_max_age')::float8, false,
           'Check the backup schedule and the last backup''s log', 12
    UNION ALL
    SELECT 'recovery_point_s',
           (SELECT greatest(extract(epoch FROM target_time - recovered_to), 0)::float8
              FROM steward.restore_drills
             WHERE finished_at IS NOT NULL AND target_time IS NOT NULL
             ORDER BY finished_at DESC LIMIT 1),
           0.8 * current_setting('steward.rpo_seconds')::float8,
           current_setting('steward.rpo_seconds')::float8, false,
           'Archive WAL more often (archive_timeout) or stream it; check the archive', 13
    UNION ALL
    SELECT 'capacity_runway_days',
           (SELECT days_until_full::float8 FROM steward.capacity WHERE relid IS NULL),
           current_setting('steward.health_runway_days_warn')::float8,
           current_setting('steward.health_runway_days_critical')::float8, true,
           'Add storage, set retention, archive or partition old data', 11
    UNION ALL
    SELECT 'version_conflict_rate',
           (SELECT sum(version_conflicts)::float8 / nullif(sum(updates), 0) FROM steward.table_stats),
           current_setting('steward.health_conflict_rate_warn')::float8,
           current_setting('steward.health_conflict_rate_critical')::float8, false,
           'Find hot rows; shorten read-modify-write windows', 7
)
SELECT check_name AS check,
       CASE WHEN value IS NULL AND check_name = 'restore_drill_age_s' THEN 'warn'   -- never drilled
            WHEN value IS NULL THEN 'ok'
            WHEN NOT lower_is_worse AND value >= critical THEN 'critical'
            WHEN NOT lower_is_worse AND value >= warn THEN 'warn'
            WHEN lower_is_worse AND value < critical THEN 'critical'
            WHEN lower_is_worse AND value < warn THEN 'warn'
            ELSE 'ok' END AS status,
       round(value::numeric, 4) AS value,
       warn AS warn_threshold, critical AS critical_threshold, first_response
  FROM v ORDER BY ord, check_name;
CREATE OR REPLACE VIEW steward.capacity AS
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
           -- a row's bytes include its TOAST data; indexes are the overhead
           pg_table_size(c.oid)::numeric / nullif(greatest(c.reltuples, 0), 0)::numeric AS avg_row_bytes,
           pg_total_relation_size(c.oid)::numeric / nullif(pg_table_size(c.oid), 0) AS index_overhead,
           r.retention,
           CASE WHEN extract(epoch FROM e.t1 - e.t0) >= env.min_history_s
                THEN e.slope_per_day END AS growth_bytes_per_day,
           pg_total_relation_size(c.oid) AS total_bytes,
           e.t1 - e.t0 AS history,
           CASE WHEN extract(epoch FROM e.t1 - e.t0) >= env.min_history_s THEN e.r2 END AS r2
      FROM pg_class c
      JOIN pg_am a ON a.oid = c.relam AND a.amname = 'steward'
      CROSS JOIN env
      LEFT JOIN ends e ON e.relid = c.oid
      LEFT JOIN steward.table_retention r ON r.relid = c.oid
     WHERE c.relkind = 'r' AND c.relnamespace <> 'steward'::regnamespace),
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

-- issue 12 item 5: steward.release(), steward.release_all() and the guard
-- that refuses DROP EXTENSION while user relations depend on pg_steward
-- (src/tableam/release.sql).
-- The key columns of an index as CREATE INDEX / EXCLUDE elements: a column
-- or a parenthesized expression, with the index's collation when it is not
-- the column's own, and "WITH OPERATOR(...)" when exclusion operators are
-- given.
CREATE FUNCTION steward._index_elements(idx oid, ops oid[] DEFAULT NULL)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT string_agg(CASE WHEN x.attnum = 0
                       THEN '(' || pg_get_indexdef(i.indexrelid, x.ord::int, false) || ')'
                       ELSE quote_ident(a.attname) END
                  || CASE WHEN x.coll <> 0 AND x.coll IS DISTINCT FROM a.attcollation
                          THEN ' COLLATE ' || x.coll::regcollation::text ELSE '' END
                  || coalesce((SELECT format(' WITH OPERATOR(%I.%s)', n.nspname, o.oprname)
                                 FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
                                WHERE o.oid = ops[x.ord]), ''),
                  ', ' ORDER BY x.ord)
  FROM pg_index i
 CROSS JOIN LATERAL unnest(i.indkey::int2[], i.indcollation::oid[]) WITH ORDINALITY x(attnum, coll, ord)
  LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = x.attnum
 WHERE i.indexrelid = idx AND x.ord <= i.indnkeyatts
$$;

-- The DDL that turns one table into core objects: steward_hash indexes and
-- EXCLUDE constraints become btree ones with the same names, the table
-- becomes heap.  Runs as the table's owner (steward.release switches to
-- them, restricted), so it is SECURITY INVOKER and checks ownership itself;
-- PUBLIC may call it because it can do nothing the caller could not do
-- with plain DDL.
CREATE FUNCTION steward._release_table(tbl regclass)
RETURNS TABLE (object_type text, object_name text, action text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hash_am oid := (SELECT a.oid FROM pg_am a WHERE a.amname = 'steward_hash');
    table_am oid := (SELECT a.oid FROM pg_am a WHERE a.amname = 'steward');
    rel record;
    r record;
    k record;
    con record;
    tree record;
    alter_cmds text[] := '{}';
    later text[] := '{}';
    cols text;
    elems text;
    tail text;
    stmt text;
BEGIN
    SELECT c.oid, c.relkind, c.relam, c.relowner,
           format('%I.%I', n.nspname, c.relname) AS qualname
      INTO rel
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = tbl;
    IF NOT pg_has_role(current_user, rel.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;

    FOR r IN SELECT i.indexrelid, i.indkey, i.indcollation, i.indpred IS NOT NULL AS partial,
                    ic.relname, ic.relkind, ic.reltablespace,
                    format('%I.%I', n.nspname, ic.relname) AS qualname,
                    pg_get_expr(i.indpred, i.indrelid) AS pred,
                    obj_description(ic.oid, 'pg_class') AS comment
               FROM pg_index i
               JOIN pg_class ic ON ic.oid = i.indexrelid
               JOIN pg_namespace n ON n.oid = ic.relnamespace
              WHERE i.indrelid = tbl AND ic.relam = hash_am
              ORDER BY ic.relname LOOP
        IF EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = r.indexrelid) THEN
            SELECT format('%s', h.inhparent::regclass) AS parent_index,
                   format('%s', pi.indrelid::regclass) AS parent_table
              INTO tree
              FROM pg_inherits h JOIN pg_index pi ON pi.indexrelid = h.inhparent
             WHERE h.inhrelid = r.indexrelid;
            RAISE EXCEPTION 'index % is a partition of index %', r.qualname, tree.parent_index
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = format('Release the partitioned table first: SELECT * FROM steward.release(%L);',
                                    tree.parent_table);
        END IF;

        -- UNIQUE can say it when every key is a plain column in its own
        -- collation.
        SELECT bool_and(x.attnum <> 0 AND (x.coll = 0 OR x.coll = a.attcollation)) AS plain
          INTO k
          FROM unnest(r.indkey::int2[], r.indcollation::oid[]) x(attnum, coll)
          LEFT JOIN pg_attribute a ON a.attrelid = tbl AND a.attnum = x.attnum;

        SELECT c.oid, c.conname, c.condeferrable, c.condeferred, c.conexclop,
               obj_description(c.oid, 'pg_constraint') AS comment
          INTO con
          FROM pg_constraint c
         WHERE c.conindid = r.indexrelid AND c.conrelid = tbl AND c.contype = 'x';

        IF con.oid IS NOT NULL THEN
            tail := CASE WHEN r.reltablespace <> 0
                         THEN format(' USING INDEX TABLESPACE %I',
                                     (SELECT t.spcname FROM pg_tablespace t WHERE t.oid = r.reltablespace))
                         ELSE '' END;
            IF NOT r.partial AND k.plain THEN
                -- "=" on every column, NULLs never conflicting: that is UNIQUE.
                stmt := format('ADD CONSTRAINT %I UNIQUE (%s)%s', con.conname,
                               (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY x.ord)
                                  FROM unnest(r.indkey::int2[]) WITH ORDINALITY x(attnum, ord)
                                  JOIN pg_attribute a ON a.attrelid = tbl AND a.attnum = x.attnum),
                               tail);
            ELSE
                elems := steward._index_elements(r.indexrelid, con.conexclop);
                stmt := format('ADD CONSTRAINT %I EXCLUDE USING btree (%s)%s%s', con.conname, elems, tail,
                               CASE WHEN r.partial THEN ' WHERE (' || r.pred || ')' ELSE '' END);
            END IF;
            stmt := stmt || CASE WHEN con.condeferrable THEN ' DEFERRABLE' ELSE '' END
                         || CASE WHEN con.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END;
            alter_cmds := alter_cmds || format('DROP CONSTRAINT %I', con.conname) || stmt;
            IF con.comment IS NOT NULL THEN
                later := later || format('COMMENT ON CONSTRAINT %I ON %s IS %L',
                                         con.conname, rel.qualname, con.comment);
            END IF;
            object_type := 'constraint'; object_name := con.conname;
            action := CASE WHEN NOT r.partial AND k.plain THEN 'EXCLUDE USING steward_hash -> UNIQUE (btree)'
                           ELSE 'EXCLUDE USING steward_hash -> EXCLUDE USING btree' END;
            RETURN NEXT;
            CONTINUE;
        END IF;

        -- A plain index, maybe partitioned: rebuild the whole tree of
        -- partition indexes with the same names, parents first.
        FOR tree IN SELECT t.relid AS idx, t.parentrelid AS parent_idx, t.level,
                           format('%I.%I', n.nspname, ic.relname) AS qualname, ic.relname,
                           ic.reltablespace, i.indrelid, tc.relkind AS table_kind,
                           pg_get_expr(i.indpred, i.indrelid) AS pred,
                           obj_description(ic.oid, 'pg_class') AS comment
                      FROM (SELECT p.relid, p.parentrelid, p.level
                              FROM pg_partition_tree(r.indexrelid) p
                            UNION ALL   -- empty for an index that is not partitioned
                            SELECT r.indexrelid, NULL, 0
                             WHERE r.relkind = 'i') t
                      JOIN pg_class ic ON ic.oid = t.relid
                      JOIN pg_namespace n ON n.oid = ic.relnamespace
                      JOIN pg_index i ON i.indexrelid = t.relid
                      JOIN pg_class tc ON tc.oid = i.indrelid
                     ORDER BY t.level, ic.relname LOOP
            cols := steward._index_elements(tree.idx);
            later := later || format('CREATE INDEX %I ON %s%s USING btree (%s)%s%s',
                                     tree.relname,
                                     CASE WHEN tree.table_kind = 'p' THEN 'ONLY ' ELSE '' END,
                                     tree.indrelid::regclass, cols,
                                     CASE WHEN tree.reltablespace <> 0
                                          THEN format(' TABLESPACE %I',
                                                      (SELECT t.spcname FROM pg_tablespace t
                                                        WHERE t.oid = tree.reltablespace))
                                          ELSE '' END,
                                     CASE WHEN tree.pred IS NOT NULL THEN ' WHERE (' || tree.pred || ')'
                                          ELSE '' END);
            IF tree.parent_idx IS NOT NULL THEN
                later := later || format('ALTER INDEX %s ATTACH PARTITION %s',
                                         (SELECT format('%I.%I', n.nspname, c.relname)
                                            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                           WHERE c.oid = tree.parent_idx),
                                         tree.qualname);
            END IF;
            IF tree.comment IS NOT NULL THEN
                later := later || format('COMMENT ON INDEX %s IS %L', tree.qualname, tree.comment);
            END IF;
        END LOOP;
        EXECUTE format('DROP INDEX %s', r.qualname);
        object_type := 'index'; object_name := r.relname;
        action := CASE WHEN r.relkind = 'I' THEN 'steward_hash -> btree (with its partition indexes)'
                       ELSE 'steward_hash -> btree' END;
        RETURN NEXT;
    END LOOP;

    IF rel.relkind IN ('r', 'm') AND rel.relam = table_am THEN
        alter_cmds := ARRAY['SET ACCESS METHOD heap'] || alter_cmds;
        object_type := CASE WHEN rel.relkind = 'm' THEN 'materialized view' ELSE 'table' END;
        object_name := tbl::text; action := 'steward -> heap';
        RETURN NEXT;
    END IF;
    -- One ALTER TABLE: the table is rewritten once and every index,
    -- including the new constraints' indexes, is built once.
    IF cardinality(alter_cmds) > 0 THEN
        EXECUTE format('ALTER %s %s %s',
                       CASE WHEN rel.relkind = 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                       rel.qualname, array_to_string(alter_cmds, ', '));
    END IF;
    FOREACH stmt IN ARRAY later LOOP
        EXECUTE stmt;
    END LOOP;
END
$$;

CREATE FUNCTION steward.release(tbl regclass)
RETURNS TABLE (relid regclass, object_type text, object_name text, action text)
AS 'MODULE_PATHNAME', 'steward_release'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.release(regclass) IS
  'turn a table (and its partitions) into core objects: heap storage, btree instead of steward_hash, rules dropped; the data stays';

CREATE FUNCTION steward.release_all()
RETURNS TABLE (relid regclass, object_type text, object_name text, action text)
AS 'MODULE_PATHNAME', 'steward_release_all'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.release_all() IS
  'release every steward table, steward_hash index and rule of the database, so that DROP EXTENSION pg_steward drops no user data';
REVOKE ALL ON FUNCTION steward.release_all() FROM PUBLIC;

-- DROP EXTENSION pg_steward, with or without CASCADE, and every command
-- that would drop it on the way (DROP SCHEMA steward CASCADE, DROP OWNED
-- BY its owner), is refused while user tables or indexes depend on the
-- access methods.  ENABLE ALWAYS: the guard also fires under
-- session_replication_role = replica.
CREATE FUNCTION steward._guard_drop()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'steward_guard_drop'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._guard_drop() FROM PUBLIC;

CREATE EVENT TRIGGER steward_guard_drop ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED', 'DROP ACCESS METHOD')
    EXECUTE FUNCTION steward._guard_drop();
ALTER EVENT TRIGGER steward_guard_drop ENABLE ALWAYS;

--------------------------------------------------------------------------
-- Issues 11 (items 8, 9), 13 (item 5) and 14: statistics that never change
-- a statement's outcome, count every statement once, fixed-size memory,
-- Prometheus-correct metrics (src/stats)
--------------------------------------------------------------------------

-- steward._statements() gains toplevel (steward.track = all).  The view is
-- switched to the new function first, so nothing that reads the view has
-- to be dropped; the library keeps 0.1's entry point.
CREATE FUNCTION steward._statements_new(
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
CREATE OR REPLACE VIEW steward.statements AS SELECT * FROM steward._statements_new();
DROP FUNCTION steward._statements();
ALTER FUNCTION steward._statements_new() RENAME TO _statements;
CREATE OR REPLACE VIEW steward.statements AS SELECT * FROM steward._statements();

CREATE FUNCTION steward._statement_totals(
    OUT dbid oid, OUT calls bigint, OUT errors bigint, OUT rows bigint,
    OUT total_ms double precision, OUT slow_calls bigint, OUT evicted_statements bigint,
    OUT toplevel boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_statement_totals'
LANGUAGE C STRICT VOLATILE;

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


COMMENT ON FUNCTION steward.latency_histogram(bigint) IS
  'latency histogram buckets of a statement (NULL: all top-level statements of this database, evicted ones included)';

-- Prometheus-style samples: base units, _total counters, histogram
-- _bucket{le}/_sum/_count.  Counters never decrease (evicted statements
-- keep their counts, steward.reset() aside); relation labels are
-- schema-qualified whatever the search_path; series of this database carry
-- its name ("database") and have scope 'database', series of the whole
-- cluster have scope 'cluster' (scrape those from one database only); every
-- steward table has its series from the moment it is one, with zeros.
CREATE OR REPLACE VIEW steward.metrics AS
WITH db AS (SELECT pg_catalog.current_database()::text AS name),
     st AS (SELECT coalesce(sum(t.calls), 0) AS calls, coalesce(sum(t.total_ms), 0) AS total_ms,
                   coalesce(sum(t.errors), 0) AS errors, coalesce(sum(t.slow_calls), 0) AS slow_calls
              FROM steward._statement_totals() t
             WHERE t.toplevel AND t.dbid = (SELECT oid FROM pg_catalog.pg_database
                                             WHERE datname = pg_catalog.current_database())),
     h AS (SELECT upper_ms, count FROM steward.latency_histogram(NULL)),
     le(le) AS (VALUES (0.001), (0.005), (0.01), (0.025), (0.05), (0.1), (0.25), (0.5),
                       (1.0), (2.5), (5.0), (10.0)),
     tables AS (SELECT c.oid AS relid, format('%I.%I', n.nspname, c.relname) AS name
                  FROM pg_catalog.pg_class c
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  JOIN pg_catalog.pg_am am ON am.oid = c.relam AND am.amname = 'steward'
                 WHERE c.relkind = 'r'),
     tc AS (SELECT t.name, coalesce(c.version_conflicts, 0) AS version_conflicts,
                   coalesce(c.sequence_rejects, 0) AS sequence_rejects,
                   coalesce(c.illegal_transitions, 0) AS illegal_transitions
              FROM tables t LEFT JOIN steward.table_counters() c ON c.relid = t.relid),
     declared AS (SELECT DISTINCT r.relid::oid AS relid, split_part(e.edge, '->', 1) AS from_state,
                         split_part(e.edge, '->', 2) AS to_state
                    FROM steward.column_rules r
                    JOIN steward.machine_definitions m ON m.name = r.machine
                    CROSS JOIN LATERAL unnest(m.transitions) e(edge)
                   WHERE r.kind = 'state'),
     counted AS (SELECT relid::oid AS relid, coalesce(from_state, '') AS from_state, to_state,
                        transitions FROM steward.transition_counters()),
     edges AS (SELECT t.name, coalesce(d.from_state, c.from_state) AS from_state,
                      coalesce(d.to_state, c.to_state) AS to_state,
                      coalesce(c.transitions, 0) AS transitions
                 FROM declared d
                 FULL JOIN counted c ON c.relid = d.relid AND c.from_state = d.from_state
                                    AND c.to_state = d.to_state
                 JOIN tables t ON t.relid = coalesce(d.relid, c.relid))
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
       (SELECT slow_calls FROM st)::float8, 'counter', 'Calls at or above steward.slow_query_ms.',
       'database'
  FROM db
UNION ALL SELECT 'steward_version_conflicts_total',
       jsonb_build_object('database', db.name, 'table', tc.name),
       tc.version_conflicts::float8, 'counter', 'Updates refused with a stale version.', 'database'
  FROM tc, db
UNION ALL SELECT 'steward_sequence_rejects_total',
       jsonb_build_object('database', db.name, 'table', tc.name),
       tc.sequence_rejects::float8, 'counter', 'Out-of-order writes refused.', 'database'
  FROM tc, db
UNION ALL SELECT 'steward_illegal_transitions_total',
       jsonb_build_object('database', db.name, 'table', tc.name),
       tc.illegal_transitions::float8, 'counter', 'State changes refused.', 'database'
  FROM tc, db
UNION ALL SELECT 'steward_state_transitions_total',
       jsonb_build_object('database', db.name, 'table', edges.name, 'from', edges.from_state,
                          'to', edges.to_state),
       edges.transitions::float8, 'counter', 'State changes made.', 'database'
  FROM edges, db
UNION ALL SELECT 'steward_idempotency_requests_total',
       jsonb_build_object('database', db.name, 'scope', c.scope, 'outcome', o.outcome),
       o.n::float8, 'counter', 'Idempotency key outcomes.', 'database'
  FROM steward.idempotency_counters() c,
       LATERAL (VALUES ('new', c.new), ('replay', c.replay), ('mismatch', c.mismatch),
                       ('in_progress', c.in_progress), ('expired', c.expired),
                       ('purged', c.purged)) o(outcome, n),
       db
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
UNION ALL SELECT 'steward_statistics_collected', '{}',
       CASE WHEN steward._statistics_collected() THEN 1 ELSE 0 END::float8, 'gauge',
       '1 if pg_steward is in shared_preload_libraries and collects statistics, else 0.', 'cluster';

-- Capacity samples on a standby: a clear error, not a read-only failure (issue 14).
CREATE OR REPLACE FUNCTION steward._capacity_sample(force boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
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
                   secs => current_setting('steward.capacity_sample_interval')::float8)) THEN
        RETURN;
    END IF;
    INSERT INTO steward.capacity_samples (relid, writes, bytes)
    SELECT c.oid, coalesce(s.n_tup_ins + s.n_tup_upd + s.n_tup_del, 0),
           pg_total_relation_size(c.oid)
      FROM pg_class c
      JOIN pg_am a ON a.oid = c.relam AND a.amname = 'steward'
      LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
     WHERE c.relkind = 'r'
    ON CONFLICT DO NOTHING;
    DELETE FROM steward.capacity_samples
     WHERE sampled_at < now() - make_interval(secs => current_setting('steward.capacity_window')::float8)
        OR NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = relid);
END
$$;
-- Issue 20 section 2: read-your-writes tokens carry the timeline ("TLI/LSN"
-- text instead of pg_lsn), so a token for a write this server does not have
-- on its timeline history is never reported as caught up.  The 0.1 entry
-- points (pg_lsn) stay in the library for databases not yet updated.
DROP FUNCTION steward.write_token();
DROP PROCEDURE steward.wait_for_token(pg_lsn, integer);
DROP FUNCTION steward.replica_caught_up(pg_lsn);

-- Read-your-writes tokens: "TLI/LSN", the timeline and the end of the
-- session's last commit record (src/ops/README.md).
CREATE FUNCTION steward.write_token()
RETURNS text
AS 'MODULE_PATHNAME', 'steward_write_token_0_2'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.write_token() IS
  'timeline and commit LSN (''TLI/LSN'') of this session''s last write transaction (NULL before any)';

CREATE PROCEDURE steward.wait_for_token(token text, timeout_ms integer DEFAULT 1000)
AS 'MODULE_PATHNAME', 'steward_wait_for_token_0_2'
LANGUAGE C;
COMMENT ON PROCEDURE steward.wait_for_token(text, integer) IS
  'return once this server has the token''s write; error after timeout_ms, or at once if this server will never have it (holds no snapshot while waiting)';

CREATE FUNCTION steward.replica_caught_up(token text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'steward_replica_caught_up_0_2'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.replica_caught_up(text) IS
  'true once this server has the token''s write; false while it has not, also for a write it will never have; never blocks';



-- issue 12 item 7: steward.verify_heap, steward.pgstattuple and
-- steward.pgstattuple_approx (src/tableam/heapcheck.sql), and the heap check
-- at the start of steward.verify (src/ops/ops.sql).
CREATE FUNCTION steward.verify_heap(tbl regclass,
                                    on_error_stop boolean DEFAULT false,
                                    check_toast boolean DEFAULT true,
                                    skip text DEFAULT 'none',
                                    startblock bigint DEFAULT NULL,
                                    endblock bigint DEFAULT NULL,
                                    OUT blkno bigint, OUT offnum integer,
                                    OUT attnum integer, OUT msg text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_verify_heap'
LANGUAGE C;
COMMENT ON FUNCTION steward.verify_heap(regclass, boolean, boolean, text, bigint, bigint) IS
  'amcheck''s verify_heapam for steward tables: one row per corrupted tuple or page (none when healthy)';
REVOKE ALL ON FUNCTION steward.verify_heap(regclass, boolean, boolean, text, bigint, bigint) FROM PUBLIC;

CREATE FUNCTION steward.pgstattuple(tbl regclass,
    OUT table_len bigint, OUT tuple_count bigint, OUT tuple_len bigint,
    OUT tuple_percent float8, OUT dead_tuple_count bigint, OUT dead_tuple_len bigint,
    OUT dead_tuple_percent float8, OUT free_space bigint, OUT free_percent float8)
AS 'MODULE_PATHNAME', 'steward_pgstattuple'
LANGUAGE C STRICT;
COMMENT ON FUNCTION steward.pgstattuple(regclass) IS
  'pgstattuple for steward tables: live and dead tuples and free space, exact';
REVOKE ALL ON FUNCTION steward.pgstattuple(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward.pgstattuple(regclass) TO pg_stat_scan_tables;

CREATE FUNCTION steward.pgstattuple_approx(tbl regclass,
    OUT table_len bigint, OUT scanned_percent float8, OUT approx_tuple_count bigint,
    OUT approx_tuple_len bigint, OUT approx_tuple_percent float8,
    OUT dead_tuple_count bigint, OUT dead_tuple_len bigint, OUT dead_tuple_percent float8,
    OUT approx_free_space bigint, OUT approx_free_percent float8)
AS 'MODULE_PATHNAME', 'steward_pgstattuple_approx'
LANGUAGE C STRICT;
COMMENT ON FUNCTION steward.pgstattuple_approx(regclass) IS
  'pgstattuple_approx for steward tables: the same, skipping all-visible pages';
REVOKE ALL ON FUNCTION steward.pgstattuple_approx(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward.pgstattuple_approx(regclass) TO pg_stat_scan_tables;

-- Integrity of one table: what a restore drill or a migration checks.
CREATE OR REPLACE FUNCTION steward.verify(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    sum_hash numeric;
    r record;
    cols text;
    notnull text;
    cond text;
    states text[];
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT has_table_privilege(tbl, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for table %', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;

    -- The pages first: amcheck's verify_heapam through steward.verify_heap
    -- (steward tables are heap pages).  The checks below read the rows and
    -- may fail on a damaged page, so a damaged heap ends the verification.
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = tbl) IN ('r', 'm') THEN
        "check" := 'heap';
        IF NOT has_function_privilege(
                'steward.verify_heap(regclass, boolean, boolean, text, bigint, bigint)', 'EXECUTE') THEN
            passed := NULL;
            detail := 'not checked: needs EXECUTE on steward.verify_heap (not granted to PUBLIC)';
            RETURN NEXT;
        ELSE
            BEGIN
                SELECT count(*),
                       (array_agg(format('block %s, offset %s%s: %s', v.blkno, v.offnum,
                                         coalesce(', attribute ' || v.attnum, ''), v.msg)
                                  ORDER BY v.blkno, v.offnum))[1]
                  INTO n, detail
                  FROM steward.verify_heap(tbl) v;
                passed := n = 0;
                detail := CASE WHEN n = 0 THEN 'pages and tuples intact (amcheck verify_heapam)'
                               ELSE format('%s problems (see steward.verify_heap); first: %s', n, detail) END;
            EXCEPTION WHEN undefined_file THEN
                n := 0;
                passed := NULL;
                detail := 'not checked: the amcheck module is not installed';
            END;
            RETURN NEXT;
            IF n > 0 THEN
                RETURN;
            END IF;
        END IF;
    END IF;

    -- Row count and an order-independent checksum of the rows' text.
    EXECUTE format('SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0) FROM %s t', tbl)
        INTO n, sum_hash;
    "check" := 'row_count'; passed := true; detail := n::text; RETURN NEXT;
    "check" := 'checksum'; passed := true;
    detail := to_hex(((sum_hash % 18446744073709551616 + 18446744073709551616)
                      % 18446744073709551616 - 9223372036854775808)::bigint);
    RETURN NEXT;

    -- Unique and primary keys (plain column keys).
    FOR r IN SELECT i.indexrelid::regclass AS idx,
                    (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
                       FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS cols,
                    (SELECT string_agg(quote_ident(a.attname) || ' IS NOT NULL', ' AND ')
                       FROM unnest(i.indkey) k(attnum)
                       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS nn
               FROM pg_index i
              WHERE i.indrelid = tbl AND i.indisunique AND i.indpred IS NULL
                AND NOT (0 = ANY (i.indkey::int2[])) LOOP
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE %s GROUP BY %s HAVING count(*) > 1) d',
                       tbl, r.nn, r.cols) INTO n;
        "check" := format('unique %s', r.idx); passed := n = 0;
        detail := CASE WHEN n = 0 THEN 'no duplicates' ELSE format('%s duplicated keys', n) END;
        RETURN NEXT;
    END LOOP;

    -- Exclusion constraints made of "=" (idempotency keys and the like).
    FOR r IN SELECT c.conname,
                    string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord) AS cols,
                    string_agg(quote_ident(a.attname) || ' IS NOT NULL', ' AND ') AS nn,
                    bool_and(o.oprname = '=') AS all_eq
               FROM pg_constraint c
               CROSS JOIN LATERAL unnest(c.conkey, c.conexclop) WITH ORDINALITY k(attnum, op, ord)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
               JOIN pg_operator o ON o.oid = k.op
              WHERE c.conrelid = tbl AND c.contype = 'x'
              GROUP BY c.conname LOOP
        CONTINUE WHEN NOT r.all_eq;
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE %s GROUP BY %s HAVING count(*) > 1) d',
                       tbl, r.nn, r.cols) INTO n;
        "check" := format('exclusion %s', r.conname); passed := n = 0;
        detail := CASE WHEN n = 0 THEN 'no conflicting rows' ELSE format('%s conflicting keys', n) END;
        RETURN NEXT;
    END LOOP;

    -- Every foreign key has its parent.
    FOR r IN SELECT c.conname, c.confrelid::regclass AS parent,
                    string_agg(format('p.%I = t.%I', pa.attname, ca.attname), ' AND ') AS cond,
                    string_agg(format('t.%I IS NOT NULL', ca.attname), ' AND ') AS nn
               FROM pg_constraint c
               CROSS JOIN LATERAL unnest(c.conkey, c.confkey) k(child, par)
               JOIN pg_attribute ca ON ca.attrelid = c.conrelid AND ca.attnum = k.child
               JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.par
              WHERE c.conrelid = tbl AND c.contype = 'f'
              GROUP BY c.conname, c.confrelid LOOP
        EXECUTE format('SELECT count(*) FROM %s t WHERE %s AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s)',
                       tbl, r.nn, r.parent, r.cond) INTO n;
        "check" := format('foreign key %s', r.conname); passed := n = 0;
        detail := CASE WHEN n = 0 THEN format('every row has its %s', r.parent)
                       ELSE format('%s rows without a parent in %s', n, r.parent) END;
        RETURN NEXT;
    END LOOP;

    -- pg_steward's own rules (on the table or a partitioned ancestor).
    FOR r IN SELECT cr.attname, cr.kind, cr.machine
               FROM steward.column_rules cr
              WHERE cr.relid = tbl
                 OR cr.relid IN (SELECT relid FROM pg_partition_ancestors(tbl))
              ORDER BY cr.kind, cr.attname LOOP
        IF r.kind = 'version' THEN
            EXECUTE format('SELECT count(*) FROM %s WHERE %I < 1', tbl, r.attname) INTO n;
            "check" := format('versions %I', r.attname); passed := n = 0;
            detail := CASE WHEN n = 0 THEN 'all versions >= 1' ELSE format('%s rows with a version below 1', n) END;
            RETURN NEXT;
        ELSIF r.kind = 'state' THEN
            SELECT m.states INTO states FROM steward.machine_definitions m WHERE m.name = r.machine;
            EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NULL OR NOT (%I::text = ANY ($1))',
                           tbl, r.attname, r.attname) INTO n USING states;
            "check" := format('states %I', r.attname); passed := n = 0;
            detail := CASE WHEN n = 0 THEN format('all rows in states of %s', r.machine)
                           ELSE format('%s rows in states %s does not declare', n, r.machine) END;
            RETURN NEXT;
        END IF;
    END LOOP;

    -- steward_hash indexes are consistent with the table.
    FOR r IN SELECT i.indexrelid::regclass AS idx
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               JOIN pg_am am ON am.oid = c.relam
              WHERE i.indrelid = tbl AND am.amname = 'steward_hash' LOOP
        SELECT count(*) INTO n FROM steward.verify_index(r.idx);
        "check" := format('index %s', r.idx); passed := n = 0;
        detail := CASE WHEN n = 0 THEN 'consistent' ELSE format('%s problems (see steward.verify_index)', n) END;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION steward.verify(regclass) IS
  'heap pages (amcheck), row count, checksum, unique/exclusion/foreign keys, versions, states and steward_hash indexes of a table';

-- ------------------------------------------------------------------------
-- Issue 11 (items 1, 2, 4, 10) and issue 21 (item 1): the trust boundary.
-- Code a table owner defined runs as that owner, restricted; relation kinds
-- are checked; checksums hash the types' own output; state checks,
-- validation runs and transition runs are visible to the tables' owners and
-- pg_read_all_stats only; set_retention checks the current user; internal
-- functions are executable by exactly the roles that read their views.
-- ------------------------------------------------------------------------
ALTER TABLE steward.state_checks ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_owners ON steward.state_checks FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                    WHERE c.oid OPERATOR(pg_catalog.=) relid), 'USAGE')
           OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'));

ALTER TABLE steward.validation_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_owners ON steward.validation_runs FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                    WHERE c.oid OPERATOR(pg_catalog.=) relid), 'USAGE')
           OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'));

ALTER TABLE steward.transition_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_owners ON steward.transition_runs FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                    WHERE c.oid OPERATOR(pg_catalog.=) relid), 'USAGE')
           OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'));

CREATE FUNCTION steward._transition_batch(run_id bigint, set_sql text, batch_size integer,
                                          after_key text,
                                          OUT moved bigint, OUT last_key text)
RETURNS record
AS 'MODULE_PATHNAME', 'steward_transition_batch'
LANGUAGE C VOLATILE;

CREATE OR REPLACE PROCEDURE steward.run_transition(tbl regclass, from_state text, to_state text,
                                        set_sql text DEFAULT NULL,
                                        batch_size integer DEFAULT 1000,
                                        max_rows_per_sec integer DEFAULT NULL)
LANGUAGE plpgsql
-- No SET clause: a procedure with one may not COMMIT.  It runs as the
-- caller, so every name below is schema-qualified, operators and types
-- included: the caller's search_path cannot substitute anything.  The rows
-- are counted and moved by the C helpers, as the table's owner.
AS $$
DECLARE
    prep pg_catalog.record;
    batch pg_catalog.record;
    pass_moved pg_catalog.int8;
    last_key pg_catalog.text;
    retries pg_catalog.int4;
    backoff pg_catalog.float8;
    batch_started pg_catalog.timestamptz;
    pause pg_catalog.float8;
BEGIN
    prep := steward._transition_prepare(tbl, from_state, to_state, set_sql,
                                        batch_size, max_rows_per_sec);
    COMMIT;

    -- Passes over the table until one moves nothing: a row skipped because
    -- it was locked, or re-locked in a newer version than the batch's
    -- snapshot can update, is picked up by the next pass.  With a
    -- single-column key each batch starts after the last key moved
    -- (keyset); otherwise every batch restarts in key order and one pass
    -- is enough.
    LOOP
        pass_moved := 0;
        last_key := NULL;
        LOOP
            retries := 0;
            backoff := 0.01;
            batch_started := pg_catalog.clock_timestamp();
            LOOP
                BEGIN
                    batch := steward._transition_batch(prep.run_id, set_sql, batch_size, last_key);
                    EXIT;
                EXCEPTION
                    WHEN serialization_failure OR deadlock_detected THEN
                        retries := retries OPERATOR(pg_catalog.+) 1;
                        IF retries OPERATOR(pg_catalog.>) 10 THEN
                            PERFORM steward._transition_progress(prep.run_id, 0, retries, 'failed');
                            COMMIT;
                            RAISE;
                        END IF;
                        PERFORM pg_catalog.pg_sleep(backoff OPERATOR(pg_catalog.*)
                                                    (0.5::pg_catalog.float8 OPERATOR(pg_catalog.+) pg_catalog.random()));
                        backoff := LEAST(backoff OPERATOR(pg_catalog.*) 2::pg_catalog.float8,
                                         2::pg_catalog.float8);
                    WHEN query_canceled THEN
                        PERFORM steward._transition_progress(prep.run_id, 0, retries, 'cancelled');
                        COMMIT;
                        RAISE;
                    WHEN OTHERS THEN
                        PERFORM steward._transition_progress(prep.run_id, 0, retries, 'failed');
                        COMMIT;
                        RAISE;
                END;
            END LOOP;
            PERFORM steward._transition_progress(prep.run_id, batch.moved, retries, NULL);
            COMMIT;
            EXIT WHEN batch.moved OPERATOR(pg_catalog.=) 0;
            pass_moved := pass_moved OPERATOR(pg_catalog.+) batch.moved;
            last_key := batch.last_key;

            IF max_rows_per_sec IS NOT NULL THEN
                pause := batch.moved::pg_catalog.float8 OPERATOR(pg_catalog./) max_rows_per_sec
                         OPERATOR(pg_catalog.-)
                         pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()
                                                       OPERATOR(pg_catalog.-) batch_started);
                IF pause OPERATOR(pg_catalog.>) 0 THEN
                    BEGIN
                        PERFORM pg_catalog.pg_sleep(pause);
                    EXCEPTION WHEN query_canceled THEN
                        PERFORM steward._transition_progress(prep.run_id, 0, 0, 'cancelled');
                        COMMIT;
                        RAISE;
                    END;
                END IF;
            END IF;
        END LOOP;
        EXIT WHEN pass_moved OPERATOR(pg_catalog.=) 0 OR prep.key_type IS NULL;
    END LOOP;

    -- What is left (rows other transactions kept locked) stays for a re-run;
    -- the helper counts it as the table's owner.
    PERFORM steward._transition_progress(prep.run_id, 0, 0, 'finished');
    COMMIT;
END
$$;

ALTER VIEW steward.transition_progress SET (security_invoker = true);

CREATE OR REPLACE FUNCTION steward._state_counts()
RETURNS TABLE (relid regclass, column_name name, state text, rows bigint)
AS 'MODULE_PATHNAME', 'steward_state_counts'
LANGUAGE C STABLE;

CREATE FUNCTION steward._verify_heap_check(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = tbl) IN ('r', 'm') THEN
        "check" := 'heap';
        IF NOT has_function_privilege(
                'steward.verify_heap(regclass, boolean, boolean, text, bigint, bigint)', 'EXECUTE') THEN
            passed := NULL;
            detail := 'not checked: needs EXECUTE on steward.verify_heap (not granted to PUBLIC)';
            RETURN NEXT;
        ELSE
            BEGIN
                SELECT count(*),
                       (array_agg(format('block %s, offset %s%s: %s', v.blkno, v.offnum,
                                         coalesce(', attribute ' || v.attnum, ''), v.msg)
                                  ORDER BY v.blkno, v.offnum))[1]
                  INTO n, detail
                  FROM steward.verify_heap(tbl) v;
                passed := n = 0;
                detail := CASE WHEN n = 0 THEN 'pages and tuples intact (amcheck verify_heapam)'
                               ELSE format('%s problems (see steward.verify_heap); first: %s', n, detail) END;
            EXCEPTION WHEN undefined_file THEN
                n := 0;
                passed := NULL;
                detail := 'not checked: the amcheck module is not installed';
            END;
            RETURN NEXT;
        END IF;
    END IF;
END
$$;

CREATE FUNCTION steward._verify_rows(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    sum_hash numeric;
    r record;
    cols text;
    notnull text;
    cond text;
    states text[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_roles o ON o.oid = c.relowner
                    WHERE c.oid = tbl AND o.rolname = current_user) THEN
        RAISE EXCEPTION 'steward._verify_rows runs only as the owner of %', tbl
            USING ERRCODE = 'insufficient_privilege', HINT = 'Call steward.verify().';
    END IF;

    -- Row count and an order-independent checksum of the rows' text: the
    -- row type's own output (format %s), never a cast the owner may add.
    EXECUTE format('SELECT count(*), coalesce(sum(hashtextextended(format(''%%s'', t), 0)::numeric), 0) FROM %s t', tbl)
        INTO n, sum_hash;
    "check" := 'row_count'; passed := true; detail := n::text; RETURN NEXT;
    "check" := 'checksum'; passed := true;
    detail := to_hex(((sum_hash % 18446744073709551616 + 18446744073709551616)
                      % 18446744073709551616 - 9223372036854775808)::bigint);
    RETURN NEXT;

    -- Unique and primary keys (plain column keys).
    FOR r IN SELECT i.indexrelid::regclass AS idx,
                    (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
                       FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS cols,
                    (SELECT string_agg(quote_ident(a.attname) || ' IS NOT NULL', ' AND ')
                       FROM unnest(i.indkey) k(attnum)
                       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS nn
               FROM pg_index i
              WHERE i.indrelid = tbl AND i.indisunique AND i.indpred IS NULL
                AND NOT (0 = ANY (i.indkey::int2[])) LOOP
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE %s GROUP BY %s HAVING count(*) > 1) d',
                       tbl, r.nn, r.cols) INTO n;
        "check" := format('unique %s', r.idx); passed := n = 0;
        detail := CASE WHEN n = 0 THEN 'no duplicates' ELSE format('%s duplicated keys', n) END;
        RETURN NEXT;
    END LOOP;

    -- Exclusion constraints made of "=" (idempotency keys and the like).
    FOR r IN SELECT c.conname,
                    string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord) AS cols,
                    string_agg(quote_ident(a.attname) || ' IS NOT NULL', ' AND ') AS nn,
                    bool_and(o.oprname = '=') AS all_eq
               FROM pg_constraint c
               CROSS JOIN LATERAL unnest(c.conkey, c.conexclop) WITH ORDINALITY k(attnum, op, ord)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
               JOIN pg_operator o ON o.oid = k.op
              WHERE c.conrelid = tbl AND c.contype = 'x'
              GROUP BY c.conname LOOP
        CONTINUE WHEN NOT r.all_eq;
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE %s GROUP BY %s HAVING count(*) > 1) d',
                       tbl, r.nn, r.cols) INTO n;
        "check" := format('exclusion %s', r.conname); passed := n = 0;
        detail := CASE WHEN n = 0 THEN 'no conflicting rows' ELSE format('%s conflicting keys', n) END;
        RETURN NEXT;
    END LOOP;

    -- Every foreign key has its parent.
    FOR r IN SELECT c.conname, c.confrelid::regclass AS parent,
                    string_agg(format('p.%I = t.%I', pa.attname, ca.attname), ' AND ') AS cond,
                    string_agg(format('t.%I IS NOT NULL', ca.attname), ' AND ') AS nn
               FROM pg_constraint c
               CROSS JOIN LATERAL unnest(c.conkey, c.confkey) k(child, par)
               JOIN pg_attribute ca ON ca.attrelid = c.conrelid AND ca.attnum = k.child
               JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.par
              WHERE c.conrelid = tbl AND c.contype = 'f'
              GROUP BY c.conname, c.confrelid LOOP
        IF NOT has_table_privilege(r.parent, 'SELECT') THEN
            "check" := format('foreign key %s', r.conname); passed := NULL;
            detail := format('not checked: the owner of %s may not read %s', tbl, r.parent);
            RETURN NEXT;
            CONTINUE;
        END IF;
        EXECUTE format('SELECT count(*) FROM %s t WHERE %s AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s)',
                       tbl, r.nn, r.parent, r.cond) INTO n;
        "check" := format('foreign key %s', r.conname); passed := n = 0;
        detail := CASE WHEN n = 0 THEN format('every row has its %s', r.parent)
                       ELSE format('%s rows without a parent in %s', n, r.parent) END;
        RETURN NEXT;
    END LOOP;

    -- pg_steward's own rules (on the table or a partitioned ancestor).
    FOR r IN SELECT cr.attname, cr.kind, cr.machine
               FROM steward.column_rules cr
              WHERE cr.relid = tbl
                 OR cr.relid IN (SELECT relid FROM pg_partition_ancestors(tbl))
              ORDER BY cr.kind, cr.attname LOOP
        IF r.kind = 'version' THEN
            EXECUTE format('SELECT count(*) FROM %s WHERE %I < 1', tbl, r.attname) INTO n;
            "check" := format('versions %I', r.attname); passed := n = 0;
            detail := CASE WHEN n = 0 THEN 'all versions >= 1' ELSE format('%s rows with a version below 1', n) END;
            RETURN NEXT;
        ELSIF r.kind = 'state' THEN
            -- The public view: this body runs as the table owner.
            SELECT m.states INTO states FROM steward.state_machines m WHERE m.name = r.machine;
            EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NULL OR NOT (%I::text = ANY ($1))',
                           tbl, r.attname, r.attname) INTO n USING states;
            "check" := format('states %I', r.attname); passed := n = 0;
            detail := CASE WHEN n = 0 THEN format('all rows in states of %s', r.machine)
                           ELSE format('%s rows in states %s does not declare', n, r.machine) END;
            RETURN NEXT;
        END IF;
    END LOOP;

    -- steward_hash indexes are consistent with the table.
    FOR r IN SELECT i.indexrelid::regclass AS idx
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               JOIN pg_am am ON am.oid = c.relam
              WHERE i.indrelid = tbl AND am.amname = 'steward_hash' LOOP
        SELECT count(*) INTO n FROM steward.verify_index(r.idx);
        "check" := format('index %s', r.idx); passed := n = 0;
        detail := CASE WHEN n = 0 THEN 'consistent' ELSE format('%s problems (see steward.verify_index)', n) END;
        RETURN NEXT;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION steward.verify(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
AS 'MODULE_PATHNAME', 'steward_verify'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.verify(regclass) IS
  'heap pages (amcheck), row count, checksum, unique/exclusion/foreign keys, versions, states and steward_hash indexes of a table';

CREATE FUNCTION steward._checksum_ranges_rows(tbl regclass, key_col name, buckets integer)
RETURNS TABLE (bucket integer, rows bigint, checksum text, min_key text, max_key text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_roles o ON o.oid = c.relowner
                    WHERE c.oid = tbl AND o.rolname = current_user) THEN
        RAISE EXCEPTION 'steward._checksum_ranges_rows runs only as the owner of %', tbl
            USING ERRCODE = 'insufficient_privilege', HINT = 'Call steward.checksum_ranges().';
    END IF;
    IF buckets IS NULL OR buckets < 1 OR buckets > 100000 THEN
        RAISE EXCEPTION 'buckets must be between 1 and 100000, got %', buckets
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = key_col
                                              AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', key_col, tbl
            USING ERRCODE = 'undefined_column';
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT b::int, count(*), '
        '       to_hex(((sum(h) %% 18446744073709551616 + 18446744073709551616) %% 18446744073709551616'
        '               - 9223372036854775808)::bigint), '
        '       format(''%%s'', min(k)), format(''%%s'', max(k)) '
        '  FROM (SELECT (hashtextextended(format(''%%s'', %I), 0) %% $1 + $1) %% $1 AS b, %I AS k, '
        '               hashtextextended(format(''%%s'', t), 0)::numeric AS h FROM %s t) s '
        ' GROUP BY b ORDER BY b', key_col, key_col, tbl) USING buckets;
END
$$;

CREATE OR REPLACE FUNCTION steward.checksum_ranges(tbl regclass, key_col name, buckets integer DEFAULT 16)
RETURNS TABLE (bucket integer, rows bigint, checksum text, min_key text, max_key text)
AS 'MODULE_PATHNAME', 'steward_checksum_ranges'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.checksum_ranges(regclass, name, integer) IS
  'row count and checksum per hash bucket of a key column, to compare two copies of a table';

CREATE OR REPLACE FUNCTION steward.capacity_sample()
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT steward._capacity_sample(true) $$;
CREATE OR REPLACE FUNCTION steward.set_retention(tbl regclass, retention interval)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_set_retention'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.set_retention(regclass, interval) IS
  'how long rows of a table are kept, for steward.capacity (NULL removes it)';

REVOKE ALL ON FUNCTION steward._data_dir_space() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward._data_dir_space() TO pg_read_all_stats;
REVOKE ALL ON FUNCTION steward._lock_contention() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward._lock_contention() TO pg_read_all_stats;
GRANT SELECT ON steward.transition_counts TO PUBLIC;
REVOKE ALL ON FUNCTION steward._statement_totals() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward._statement_totals() TO pg_read_all_stats;

-- Issue 12 item 2: the access method sets the version and changed_at columns
-- after the executor computed generated columns and checked constraints,
-- partition bounds, policies and view check options; definitions where they
-- could diverge are refused from now on.  Existing ones are reported here.

-- Refuse definitions in which something the executor computes or checks on
-- a new row before storing it (stored generated columns, CHECK constraints,
-- partition keys, row security policies, views WITH CHECK OPTION) depends
-- on a column the access method sets: the version, a changed_at column
-- (src/tableam/written.c).  track_versions and attach_state_machine check
-- when they add such a rule; this trigger checks later DDL.
CREATE FUNCTION steward._check_written_columns(tbl regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_check_written_columns_sql'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._check_written_columns(regclass) FROM PUBLIC;

CREATE FUNCTION steward._rules_on_written_ddl()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel oid;
BEGIN
    IF pg_catalog.to_regclass('steward.column_rules') IS NULL
       OR NOT EXISTS (SELECT 1 FROM steward.column_rules
                       WHERE kind = 'version' OR changed_at IS NOT NULL) THEN
        RETURN;
    END IF;
    FOR rel IN
        SELECT DISTINCT CASE WHEN c.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass
                             THEN (SELECT p.polrelid FROM pg_catalog.pg_policy p
                                    WHERE p.oid = c.objid)
                             ELSE c.objid END
          FROM pg_catalog.pg_event_trigger_ddl_commands() c
         WHERE c.classid IN ('pg_catalog.pg_class'::pg_catalog.regclass,
                             'pg_catalog.pg_policy'::pg_catalog.regclass)
    LOOP
        CONTINUE WHEN rel IS NULL
            OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE oid = rel);
        PERFORM steward._check_written_columns(rel::pg_catalog.regclass);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION steward._rules_on_written_ddl() FROM PUBLIC;

CREATE EVENT TRIGGER steward_rules_written ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE', 'CREATE POLICY', 'ALTER POLICY',
                 'CREATE VIEW', 'ALTER VIEW')
    EXECUTE FUNCTION steward._rules_on_written_ddl();

DO $$
DECLARE
    r regclass;
BEGIN
    FOR r IN SELECT DISTINCT relid FROM steward.column_rules
              WHERE kind = 'version' OR changed_at IS NOT NULL LOOP
        BEGIN
            PERFORM steward._check_written_columns(r);
        EXCEPTION WHEN feature_not_supported THEN
            RAISE WARNING '%', SQLERRM
                USING DETAIL = 'Rows stored before this update may not satisfy it: the check ran before pg_steward set the column.',
                      HINT = 'Change the definition (derive the value in a view or query), then check the rows with steward.verify().';
        END;
    END LOOP;
END
$$;

-- issue 12 item 4: rules travel with their tables in every dump, as
-- security labels of provider "steward" (src/tableam/labels.sql).
-- Recreate (or, label NULL, remove) the rule of one column from its label.
-- Called by the label provider (labels.c) as the owner of the extension's
-- tables, after core checked that the caller owns the table.  Validates
-- like track_versions / track_sequence / attach_state_machine, and creates
-- the label's state machine when this database lacks it.
CREATE FUNCTION steward._apply_rule_label(tbl regclass, colnum smallint, label text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col name;
    typ oid;
    v_kind text;
    l jsonb;
    since timestamptz;
    v_machine text;
    v_changed name;
    m record;
    other name;
    n bigint;
BEGIN
    SELECT a.attname, a.atttypid INTO col, typ
      FROM pg_attribute a
     WHERE a.attrelid = tbl AND a.attnum = colnum AND NOT a.attisdropped;
    IF col IS NULL OR colnum < 1 THEN
        RAISE EXCEPTION 'security labels of provider "steward" apply to user columns of tables'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = tbl) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', tbl
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'Security labels of provider "steward" carry pg_steward''s column rules.';
    END IF;
    -- Like track_versions: no write is in flight while a rule changes.
    EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', tbl);

    IF label IS NULL THEN
        DELETE FROM steward.column_rules r WHERE r.relid = tbl AND r.attname = col;
        RETURN;
    END IF;
    BEGIN
        l := label::jsonb;
    EXCEPTION WHEN invalid_text_representation THEN
        l := NULL;
    END;
    IF l IS NULL OR jsonb_typeof(l) <> 'object' OR l->>'v' IS DISTINCT FROM '1' THEN
        RAISE EXCEPTION 'invalid pg_steward label for column "%" of relation "%"', col, tbl
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Labels of provider "steward" are written by pg_steward: a JSON object with "v": 1 and "kind".',
                  HINT = 'Use steward.track_versions, steward.track_sequence or steward.attach_state_machine.';
    END IF;
    v_kind := l->>'kind';
    since := coalesce((l->>'since')::timestamptz, now());

    IF v_kind = 'version' THEN
        IF typ <> 'int8'::regtype THEN
            RAISE EXCEPTION 'version column "%" of relation "%" must be of type bigint', col, tbl
                USING ERRCODE = 'datatype_mismatch';
        END IF;
        SELECT r.attname INTO other FROM steward.column_rules r
         WHERE r.relid = tbl AND r.kind = 'version' AND r.attname <> col;
        IF other IS NOT NULL THEN
            RAISE EXCEPTION 'relation "%" already tracks versions in column "%"', tbl, other
                USING ERRCODE = 'duplicate_object', DETAIL = 'A table has at most one version column.';
        END IF;
        EXECUTE format('SELECT count(*) FROM %s WHERE %I < 1', tbl, col) INTO n;
        IF n > 0 THEN
            RAISE EXCEPTION 'relation "%" has % rows with a version below 1 in column "%"', tbl, n, col
                USING ERRCODE = 'check_violation';
        END IF;
    ELSIF v_kind = 'sequence' THEN
        IF typ NOT IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) THEN
            RAISE EXCEPTION 'sequence column "%" of relation "%" must be of type smallint, integer or bigint',
                    col, tbl USING ERRCODE = 'datatype_mismatch';
        END IF;
    ELSIF v_kind = 'state' THEN
        IF typ NOT IN ('text'::regtype, 'varchar'::regtype) THEN
            RAISE EXCEPTION 'state column "%" of relation "%" must be of type text or varchar', col, tbl
                USING ERRCODE = 'datatype_mismatch';
        END IF;
        v_machine := l->>'machine';
        v_changed := l->>'changed_at';
        IF v_changed IS NOT NULL AND (v_changed = col OR NOT EXISTS (
                SELECT 1 FROM pg_attribute a
                 WHERE a.attrelid = tbl AND a.attname = v_changed AND a.attnum > 0
                   AND NOT a.attisdropped AND a.atttypid = 'timestamptz'::regtype)) THEN
            RAISE EXCEPTION 'changed_at column "%" of relation "%" must be another column of type timestamp with time zone',
                    v_changed, tbl USING ERRCODE = 'datatype_mismatch';
        END IF;
        SELECT d.states, d.initial, d.transitions INTO m
          FROM steward.machine_definitions d WHERE d.name = v_machine;
        IF NOT FOUND THEN
            -- Validated like any new machine; keeps its original creation time.
            PERFORM steward.create_state_machine(v_machine,
                        ARRAY(SELECT jsonb_array_elements_text(l->'states')),
                        ARRAY(SELECT jsonb_array_elements_text(l->'initial')),
                        ARRAY(SELECT jsonb_array_elements_text(l->'transitions')));
            UPDATE steward.machine_definitions d
               SET created_at = coalesce((l->>'machine_since')::timestamptz, d.created_at)
             WHERE d.name = v_machine;
        ELSIF m.states IS DISTINCT FROM ARRAY(SELECT jsonb_array_elements_text(l->'states'))
           OR m.initial IS DISTINCT FROM ARRAY(SELECT jsonb_array_elements_text(l->'initial'))
           OR m.transitions IS DISTINCT FROM ARRAY(SELECT jsonb_array_elements_text(l->'transitions')) THEN
            RAISE EXCEPTION 'state machine "%" of this database differs from the one attached to column "%" of relation "%"',
                    v_machine, col, tbl
                USING ERRCODE = 'duplicate_object',
                      DETAIL = format('Here: states %s, initial %s, transitions %s; the label: states %s, initial %s, transitions %s.',
                                      m.states, m.initial, m.transitions,
                                      l->'states', l->'initial', l->'transitions'),
                      HINT = 'Rename one of the machines, or attach this database''s machine with steward.attach_state_machine.';
        END IF;
        EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NULL OR NOT (%I::text = ANY ($1))', tbl, col, col)
           INTO n USING (SELECT d.states FROM steward.machine_definitions d WHERE d.name = v_machine);
        IF n > 0 THEN
            RAISE EXCEPTION 'column "%" of relation "%" holds % values that machine "%" does not declare',
                    col, tbl, n, v_machine USING ERRCODE = 'check_violation';
        END IF;
    ELSE
        RAISE EXCEPTION 'invalid pg_steward label for column "%" of relation "%"', col, tbl
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Unknown rule kind %s.', coalesce(quote_literal(v_kind), 'NULL'));
    END IF;

    IF EXISTS (SELECT 1 FROM steward.column_rules r WHERE r.relid = tbl AND r.attname = col) THEN
        UPDATE steward.column_rules r
           SET kind = v_kind, machine = v_machine, changed_at = v_changed, created_at = since
         WHERE r.relid = tbl AND r.attname = col;
    ELSE
        INSERT INTO steward.column_rules (relid, attname, kind, machine, changed_at, created_at)
        VALUES (tbl, col, v_kind, v_machine, v_changed, since);
    END IF;
    -- Like track_versions / attach_state_machine: nothing the executor
    -- computes or checks may depend on a column the access method sets.
    IF v_kind = 'version' OR v_changed IS NOT NULL THEN
        PERFORM steward._check_written_columns(tbl);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION steward._apply_rule_label(regclass, smallint, text) FROM PUBLIC;

-- Inserting a rule that exists already (a whole-database restore after the
-- labels recreated it, a data-only restore into a database prepared with
-- the schema) is a no-op; inserting a different rule for the same column
-- is an error that says so, not a bare duplicate key.
CREATE FUNCTION steward._column_rules_merge()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur record;
BEGIN
    SELECT r.kind, r.machine, r.changed_at INTO cur
      FROM steward.column_rules r WHERE r.relid = NEW.relid AND r.attname = NEW.attname;
    IF NOT FOUND THEN
        RETURN NEW;
    END IF;
    IF (cur.kind, cur.machine, cur.changed_at) IS NOT DISTINCT FROM (NEW.kind, NEW.machine, NEW.changed_at) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'column "%" of relation "%" already has a different rule', NEW.attname, NEW.relid
        USING ERRCODE = 'unique_violation',
              DETAIL = format('It is tracked as %s%s; the new rule is %s%s.',
                              cur.kind, coalesce(' (machine ' || cur.machine || ')', ''),
                              NEW.kind, coalesce(' (machine ' || NEW.machine || ')', '')),
              HINT = 'Untrack or detach the column first.';
END
$$;
REVOKE ALL ON FUNCTION steward._column_rules_merge() FROM PUBLIC;
CREATE TRIGGER column_rules_merge
    BEFORE INSERT ON steward.column_rules
    FOR EACH ROW EXECUTE FUNCTION steward._column_rules_merge();

-- The same for machines: the label of an attached column carries its
-- machine, so a restore may meet the machine twice.
CREATE FUNCTION steward._machine_definitions_merge()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur record;
BEGIN
    SELECT m.states, m.initial, m.transitions INTO cur
      FROM steward.machine_definitions m WHERE m.name = NEW.name;
    IF NOT FOUND THEN
        RETURN NEW;
    END IF;
    IF (cur.states, cur.initial, cur.transitions) IS NOT DISTINCT FROM (NEW.states, NEW.initial, NEW.transitions) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'state machine "%" already exists with another definition', NEW.name
        USING ERRCODE = 'unique_violation',
              DETAIL = format('Existing: states %s, initial %s, transitions %s; new: states %s, initial %s, transitions %s.',
                              cur.states, cur.initial, cur.transitions,
                              NEW.states, NEW.initial, NEW.transitions);
END
$$;
REVOKE ALL ON FUNCTION steward._machine_definitions_merge() FROM PUBLIC;
CREATE TRIGGER machine_definitions_merge
    BEFORE INSERT ON steward.machine_definitions
    FOR EACH ROW EXECUTE FUNCTION steward._machine_definitions_merge();

-- SECURITY LABEL FOR steward needs the provider registered in the session,
-- that is the library loaded; a restore may label a partitioned table
-- before anything else has loaded it.  Calling this C function loads it
-- (its _PG_init registers the provider) before the command looks for the
-- provider; it does nothing else.
CREATE FUNCTION steward._load_label_provider()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'steward_load_label_provider'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._load_label_provider() FROM PUBLIC;
CREATE EVENT TRIGGER steward_load_label_provider ON ddl_command_start
    WHEN TAG IN ('SECURITY LABEL')
    EXECUTE FUNCTION steward._load_label_provider();
ALTER EVENT TRIGGER steward_load_label_provider ENABLE ALWAYS;

-- Label the rules this database already has (the trigger of column_rules
-- writes each row's label).
UPDATE steward.column_rules SET attname = attname;
-- issue 11 item 6: idempotency scopes have owners (src/idempotency).  Only
-- roles with the owner's privileges may use a scope's keys.  0.1 recorded
-- no user, so every scope that holds keys or a retention override goes to
-- the extension's owner; give each to its application role with
-- steward.alter_idempotency_scope_owner(scope, role).  A key without a
-- result now belongs to the session that began it; 0.1's pending keys name
-- no session and get 0.1's default lease (5 minutes from their lock) instead.
ALTER TABLE steward.idempotency_scopes ALTER COLUMN retention DROP NOT NULL;
ALTER TABLE steward.idempotency_scopes ADD COLUMN owner regrole;
INSERT INTO steward.idempotency_scopes (scope)
SELECT DISTINCT k.scope FROM steward.idempotency_keys k
ON CONFLICT (scope) DO NOTHING;
UPDATE steward.idempotency_scopes
   SET owner = (SELECT e.extowner FROM pg_catalog.pg_extension e
                 WHERE e.extname = 'pg_steward')::regrole;
ALTER TABLE steward.idempotency_scopes ALTER COLUMN owner SET NOT NULL;

ALTER TABLE steward.idempotency_keys
    ADD COLUMN holder_pid integer,
    ADD COLUMN holder_start timestamptz,
    ADD COLUMN lease_until timestamptz;
UPDATE steward.idempotency_keys SET lease_until = locked_at + interval '5 minutes'
 WHERE status IS NULL;

CREATE OR REPLACE FUNCTION steward.set_idempotency_retention(scope text, retention interval)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_set_idempotency_retention'
LANGUAGE C VOLATILE;

CREATE OR REPLACE VIEW steward.idempotency_retention_overrides AS
    SELECT scope, retention FROM steward.idempotency_scopes WHERE retention IS NOT NULL;

CREATE FUNCTION steward.create_idempotency_scope(scope text, owner regrole DEFAULT NULL,
                                                 retention interval DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_create_idempotency_scope'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.create_idempotency_scope(text, regrole, interval) IS
  'reserve an idempotency scope for a role (default: the current user) before anyone uses it';

CREATE FUNCTION steward.alter_idempotency_scope_owner(scope text, owner regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_alter_idempotency_scope_owner'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.alter_idempotency_scope_owner(text, regrole) IS
  'give an idempotency scope to another role (owner or superuser; must be a member of the new owner)';

CREATE FUNCTION steward.drop_idempotency_scope(scope text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'steward_drop_idempotency_scope'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.drop_idempotency_scope(text) IS
  'remove an idempotency scope and all its keys (owner only); returns how many keys';

CREATE VIEW steward.idempotency_scope_owners WITH (security_barrier) AS
    SELECT scope, owner, retention FROM steward.idempotency_scopes
     WHERE pg_catalog.pg_has_role(owner, 'USAGE');
GRANT SELECT ON steward.idempotency_scope_owners TO PUBLIC;

REVOKE ALL ON FUNCTION steward.create_idempotency_scope(text, regrole, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION steward.alter_idempotency_scope_owner(text, regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION steward.drop_idempotency_scope(text) FROM PUBLIC;
-- Health over recent windows (issue 14): snapshots, history, gated checks.
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
-- percentiles (coarse histogram: within 10.5%), steward-table updates and
-- version conflicts of this database.
CREATE VIEW steward.statement_history AS
SELECT window_start AS interval_start, snapshot_at AS interval_end,
       calls, errors, slow_calls,
       total_ms / nullif(calls, 0) AS mean_ms, p50_ms, p95_ms, p99_ms,
       updates, version_conflicts
  FROM steward._history(NULL)
 WHERE NOT is_now;
GRANT SELECT ON steward.statement_history TO PUBLIC;

-- One row per check, with the guide's "typical first response".  Latency,
-- slow calls and conflicts are judged over the last steward.health_window
-- (history.c), and only once the window holds steward.health_min_calls
-- calls or steward.health_min_updates updates: a fixed problem turns green,
-- and three updates right after start are no evidence.
CREATE OR REPLACE VIEW steward.health AS
WITH w AS (
    SELECT * FROM steward._history(extract(epoch FROM current_setting('steward.health_window')::interval)::float8)
     WHERE is_now
), v AS (
    SELECT 'p99_latency_ms' AS check_name,
           (SELECT p99_ms FROM w) AS value,
           current_setting('steward.health_p99_ms_warn')::float8 AS warn,
           current_setting('steward.health_p99_ms_critical')::float8 AS critical,
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
           current_setting('steward.health_replication_lag_s_warn')::float8,
           current_setting('steward.health_replication_lag_s_critical')::float8, false,
           'Read-from-leader for RYW, reduce load', 4
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
           0.8 * current_setting('steward.drill_max_age')::float8,
           current_setting('steward.drill_max_age')::float8, false,
           'Run steward-drill; restore drills are part of delivering the database', 8
    UNION ALL
    SELECT 'restore_drill_duration_s',
           (SELECT duration_s::float8 FROM steward.restore_drills
             WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1),
           0.8 * current_setting('steward.rto_seconds')::float8,
           current_setting('steward.rto_seconds')::float8, false,
           'Improve restore throughput, adjust backup schedule', 9
    UNION ALL
    SELECT 'restore_drill_failed',
           (SELECT CASE WHEN result = 'failed' THEN 1 ELSE 0 END::float8 FROM steward.restore_drills
             WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1),
           1, 1, false,
           'Read steward.restore_drills.details; fix the backup before trusting it', 10
    UNION ALL
    -- The newest backup a drill has restored, and the recovery point a
    -- drill to a target time achieved (target minus last replayed commit).
    SELECT 'backup_age_s',
           (SELECT extract(epoch FROM now() - max(backup_time))::float8
              FROM steward.restore_drills WHERE result = 'passed'),
           0.8 * current_setting('steward.backup_max_age')::float8,
           current_setting('steward.backup_max_age')::float8, false,
           'Check the backup schedule and the last backup''s log', 12
    UNION ALL
    SELECT 'recovery_point_s',
           (SELECT greatest(extract(epoch FROM target_time - recovered_to), 0)::float8
              FROM steward.restore_drills
             WHERE finished_at IS NOT NULL AND target_time IS NOT NULL
             ORDER BY finished_at DESC LIMIT 1),
           0.8 * current_setting('steward.rpo_seconds')::float8,
           current_setting('steward.rpo_seconds')::float8, false,
           'Archive WAL more often (archive_timeout) or stream it; check the archive', 13
    UNION ALL
    SELECT 'capacity_runway_days',
           (SELECT days_until_full::float8 FROM steward.capacity WHERE relid IS NULL),
           current_setting('steward.health_runway_days_warn')::float8,
           current_setting('steward.health_runway_days_critical')::float8, true,
           'Add storage, set retention, archive or partition old data', 11
    UNION ALL
    SELECT 'version_conflict_rate',
           (SELECT version_conflicts::float8 / nullif(updates, 0) FROM w),
           current_setting('steward.health_conflict_rate_warn')::float8,
           current_setting('steward.health_conflict_rate_critical')::float8, false,
           'Find hot rows; shorten read-modify-write windows', 7
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
)
SELECT check_name AS check,
       CASE WHEN value IS NULL AND check_name = 'restore_drill_age_s' THEN 'warn'   -- never drilled
            WHEN value IS NULL THEN 'ok'
            WHEN events < min_events THEN 'ok'                  -- too little evidence yet
            WHEN NOT lower_is_worse AND value >= critical THEN 'critical'
            WHEN NOT lower_is_worse AND value >= warn THEN 'warn'
            WHEN lower_is_worse AND value < critical THEN 'critical'
            WHEN lower_is_worse AND value < warn THEN 'warn'
            ELSE 'ok' END AS status,
       round(value::numeric, 4) AS value,
       warn AS warn_threshold, critical AS critical_threshold, first_response
  FROM v LEFT JOIN gate USING (check_name) ORDER BY ord, check_name;

-- The windowed checks of steward.health at every snapshot: how health
-- looked over time (charts, post-mortems).
CREATE VIEW steward.health_history AS
WITH w AS (
    SELECT * FROM steward._history(extract(epoch FROM current_setting('steward.health_window')::interval)::float8)
     WHERE NOT is_now
)
SELECT w.snapshot_at, w.window_start, c.check_name AS check,
       CASE WHEN c.value IS NULL THEN 'ok'
            WHEN c.events < c.min_events THEN 'ok'
            WHEN c.value >= c.critical THEN 'critical'
            WHEN c.value >= c.warn THEN 'warn'
            ELSE 'ok' END AS status,
       round(c.value::numeric, 4) AS value, c.events, c.min_events,
       c.warn AS warn_threshold, c.critical AS critical_threshold
  FROM w CROSS JOIN LATERAL (VALUES
       ('p99_latency_ms', w.p99_ms, w.calls,
        current_setting('steward.health_min_calls')::bigint,
        current_setting('steward.health_p99_ms_warn')::float8,
        current_setting('steward.health_p99_ms_critical')::float8),
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



-- Lifecycle and verify at the edges (issue 13): run_transition refuses a
-- transition to the same state; a run whose session stopped executing it is
-- never shown running; verify checks unique and exclusion constraints
-- exactly as enforced (expressions, predicates, NULLS NOT DISTINCT, any
-- operator, INVALID indexes), foreign keys with their operators and MATCH
-- FULL, NOT VALID keys reported unchecked.
CREATE OR REPLACE PROCEDURE steward.run_transition(tbl regclass, from_state text, to_state text,
                                        set_sql text DEFAULT NULL,
                                        batch_size integer DEFAULT 1000,
                                        max_rows_per_sec integer DEFAULT NULL)
LANGUAGE plpgsql
-- No SET clause: a procedure with one may not COMMIT.  It runs as the
-- caller, so every name below is schema-qualified, operators and types
-- included: the caller's search_path cannot substitute anything.  The rows
-- are counted and moved by the C helpers, as the table's owner.
AS $$
DECLARE
    prep pg_catalog.record;
    batch pg_catalog.record;
    pass_moved pg_catalog.int8;
    last_key pg_catalog.text;
    retries pg_catalog.int4;
    backoff pg_catalog.float8;
    batch_started pg_catalog.timestamptz;
    pause pg_catalog.float8;
BEGIN
    -- Rows moved to their own state would match again forever.
    IF from_state OPERATOR(pg_catalog.=) to_state THEN
        RAISE EXCEPTION 'run_transition: from and to are the same state "%"', from_state
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'To change other columns of rows in one state, run an UPDATE in batches; run_transition moves rows between states.';
    END IF;
    prep := steward._transition_prepare(tbl, from_state, to_state, set_sql,
                                        batch_size, max_rows_per_sec);
    COMMIT;

    -- Passes over the table until one moves nothing: a row skipped because
    -- it was locked, or re-locked in a newer version than the batch's
    -- snapshot can update, is picked up by the next pass.  With a
    -- single-column key each batch starts after the last key moved
    -- (keyset); otherwise every batch restarts in key order and one pass
    -- is enough.
    LOOP
        pass_moved := 0;
        last_key := NULL;
        LOOP
            retries := 0;
            backoff := 0.01;
            batch_started := pg_catalog.clock_timestamp();
            LOOP
                BEGIN
                    batch := steward._transition_batch(prep.run_id, set_sql, batch_size, last_key);
                    EXIT;
                EXCEPTION
                    WHEN serialization_failure OR deadlock_detected THEN
                        retries := retries OPERATOR(pg_catalog.+) 1;
                        IF retries OPERATOR(pg_catalog.>) 10 THEN
                            PERFORM steward._transition_progress(prep.run_id, 0, retries, 'failed');
                            COMMIT;
                            RAISE;
                        END IF;
                        PERFORM pg_catalog.pg_sleep(backoff OPERATOR(pg_catalog.*)
                                                    (0.5::pg_catalog.float8 OPERATOR(pg_catalog.+) pg_catalog.random()));
                        backoff := LEAST(backoff OPERATOR(pg_catalog.*) 2::pg_catalog.float8,
                                         2::pg_catalog.float8);
                    WHEN query_canceled THEN
                        PERFORM steward._transition_progress(prep.run_id, 0, retries, 'cancelled');
                        COMMIT;
                        RAISE;
                    WHEN OTHERS THEN
                        PERFORM steward._transition_progress(prep.run_id, 0, retries, 'failed');
                        COMMIT;
                        RAISE;
                END;
            END LOOP;
            PERFORM steward._transition_progress(prep.run_id, batch.moved, retries, NULL);
            COMMIT;
            EXIT WHEN batch.moved OPERATOR(pg_catalog.=) 0;
            pass_moved := pass_moved OPERATOR(pg_catalog.+) batch.moved;
            last_key := batch.last_key;

            IF max_rows_per_sec IS NOT NULL THEN
                pause := batch.moved::pg_catalog.float8 OPERATOR(pg_catalog./) max_rows_per_sec
                         OPERATOR(pg_catalog.-)
                         pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()
                                                       OPERATOR(pg_catalog.-) batch_started);
                IF pause OPERATOR(pg_catalog.>) 0 THEN
                    BEGIN
                        PERFORM pg_catalog.pg_sleep(pause);
                    EXCEPTION WHEN query_canceled THEN
                        PERFORM steward._transition_progress(prep.run_id, 0, 0, 'cancelled');
                        COMMIT;
                        RAISE;
                    END;
                END IF;
            END IF;
        END LOOP;
        EXIT WHEN pass_moved OPERATOR(pg_catalog.=) 0 OR prep.key_type IS NULL;
    END LOOP;

    -- What is left (rows other transactions kept locked) stays for a re-run;
    -- the helper counts it as the table's owner.
    PERFORM steward._transition_progress(prep.run_id, 0, 0, 'finished');
    COMMIT;
END
$$;
-- Is the session that started a run still executing that CALL?  Its pid
-- must be running a statement that began before the run did: a session
-- that was cancelled, failed or went on to other statements is not.  A
-- boolean about one pid, computed with full view of pg_stat_activity.
CREATE FUNCTION steward._transition_running(pid integer, started_at timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                    WHERE a.pid = $1 AND a.state = 'active' AND a.query_start <= $2)
$$;
REVOKE ALL ON FUNCTION steward._transition_running(integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward._transition_running(integer, timestamptz) TO PUBLIC;

CREATE OR REPLACE VIEW steward.transition_progress WITH (security_invoker = true) AS
SELECT r.id, r.relid, r.state_column, r.from_state, r.to_state,
       r.rows_done,
       greatest(r.rows_total - r.rows_done, 0) AS rows_remaining,
       round((r.rows_done / nullif(extract(epoch FROM coalesce(r.last_batch_at, r.started_at)
                                                    - r.started_at), 0))::numeric, 1)
           AS rows_per_sec,
       CASE WHEN r.finished_at IS NULL AND r.rows_done > 0 THEN
           (greatest(r.rows_total - r.rows_done, 0)
            * ((r.last_batch_at - r.started_at) / r.rows_done))
       END AS eta,
       r.started_at, r.last_batch_at, r.batches, r.retries,
       r.finished_at,
       CASE WHEN r.finished_at IS NOT NULL THEN r.status
            WHEN steward._transition_running(r.pid, r.started_at) THEN 'running'
            ELSE 'interrupted' END AS status
  FROM steward.transition_runs r;
CREATE OR REPLACE FUNCTION steward._verify_rows(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    sum_hash numeric;
    r record;
    cols text;
    notnull text;
    cond text;
    states text[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_roles o ON o.oid = c.relowner
                    WHERE c.oid = tbl AND o.rolname = current_user) THEN
        RAISE EXCEPTION 'steward._verify_rows runs only as the owner of %', tbl
            USING ERRCODE = 'insufficient_privilege', HINT = 'Call steward.verify().';
    END IF;

    -- Row count and an order-independent checksum of the rows' text: the
    -- row type's own output (format %s), never a cast the owner may add.
    EXECUTE format('SELECT count(*), coalesce(sum(hashtextextended(format(''%%s'', t), 0)::numeric), 0) FROM %s t', tbl)
        INTO n, sum_hash;
    "check" := 'row_count'; passed := true; detail := n::text; RETURN NEXT;
    "check" := 'checksum'; passed := true;
    detail := to_hex(((sum_hash % 18446744073709551616 + 18446744073709551616)
                      % 18446744073709551616 - 9223372036854775808)::bigint);
    RETURN NEXT;

    -- Unique and primary keys, exactly as the index enforces them: its key
    -- columns or expressions, its predicate, NULLS [NOT] DISTINCT.  An
    -- index a failed CREATE INDEX CONCURRENTLY left INVALID enforces
    -- nothing: it is reported, not checked.
    FOR r IN SELECT i.indexrelid::regclass AS idx, i.indisvalid, i.indnullsnotdistinct,
                    (SELECT string_agg('(' || pg_get_indexdef(i.indexrelid, k, true) || ')', ', ' ORDER BY k)
                       FROM generate_series(1, i.indnkeyatts) k) AS keys,
                    (SELECT string_agg('(' || pg_get_indexdef(i.indexrelid, k, true) || ') IS NOT NULL', ' AND ')
                       FROM generate_series(1, i.indnkeyatts) k) AS nn,
                    coalesce(pg_get_expr(i.indpred, i.indrelid, true), 'true') AS pred
               FROM pg_index i
              WHERE i.indrelid = tbl AND i.indisunique
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                 WHERE c.conindid = i.indexrelid AND c.contype = 'x')
              ORDER BY i.indexrelid LOOP
        "check" := format('unique %s', r.idx);
        IF NOT r.indisvalid THEN
            passed := NULL;
            detail := 'not checked: the index is INVALID (a failed CREATE INDEX CONCURRENTLY) and enforces nothing; drop it and build it again';
            RETURN NEXT;
            CONTINUE;
        END IF;
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE (%s)%s GROUP BY %s HAVING count(*) > 1) d',
                       tbl, r.pred,
                       CASE WHEN r.indnullsnotdistinct THEN '' ELSE ' AND ' || r.nn END,
                       r.keys) INTO n;
        passed := n = 0;
        detail := CASE WHEN n = 0 THEN 'no duplicates' ELSE format('%s duplicated keys', n) END;
        RETURN NEXT;
    END LOOP;

    -- Exclusion constraints, exactly as enforced: the index's columns or
    -- expressions compared with the constraint's operators, under its
    -- predicate.  Built-in "=" on both sides groups (one pass); any other
    -- operator compares pairs of rows (the planner can use the index).
    FOR r IN SELECT c.conname, i.indexrelid::regclass AS idx, i.indisvalid,
                    coalesce(pg_get_expr(i.indpred, i.indrelid, true), 'true') AS pred,
                    bool_and(o.oprname = '=' AND o.oprleft = o.oprright
                             AND o.oprnamespace = 'pg_catalog'::regnamespace) AS builtin_eq,
                    string_agg('(' || pg_get_indexdef(i.indexrelid, k.ord::int, true) || ')', ', '
                               ORDER BY k.ord) AS keys,
                    string_agg('(' || pg_get_indexdef(i.indexrelid, k.ord::int, true) || ') IS NOT NULL',
                               ' AND ') AS nn,
                    string_agg(format('(%s) AS k%s', pg_get_indexdef(i.indexrelid, k.ord::int, true), k.ord),
                               ', ' ORDER BY k.ord) AS key_cols,
                    string_agg(format('a.k%s OPERATOR(%I.%s) b.k%s', k.ord, ns.nspname, o.oprname, k.ord),
                               ' AND ' ORDER BY k.ord) AS pair_cond
               FROM pg_constraint c
               JOIN pg_index i ON i.indexrelid = c.conindid
               CROSS JOIN LATERAL unnest(c.conexclop) WITH ORDINALITY k(op, ord)
               JOIN pg_operator o ON o.oid = k.op
               JOIN pg_namespace ns ON ns.oid = o.oprnamespace
              WHERE c.conrelid = tbl AND c.contype = 'x'
              GROUP BY c.conname, i.indexrelid, i.indisvalid, i.indpred, i.indrelid
              ORDER BY c.conname LOOP
        "check" := format('exclusion %s', r.conname);
        IF NOT r.indisvalid THEN
            passed := NULL;
            detail := 'not checked: its index is INVALID and enforces nothing';
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF r.builtin_eq THEN
            EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE (%s) AND %s GROUP BY %s HAVING count(*) > 1) d',
                           tbl, r.pred, r.nn, r.keys) INTO n;
            passed := n = 0;
            detail := CASE WHEN n = 0 THEN 'no conflicting rows' ELSE format('%s conflicting keys', n) END;
        ELSE
            EXECUTE format('SELECT count(*) FROM (SELECT ctid AS tid, %2$s FROM %1$s WHERE (%3$s)) a, '
                           '(SELECT ctid AS tid, %2$s FROM %1$s WHERE (%3$s)) b '
                           'WHERE a.tid OPERATOR(pg_catalog.<) b.tid AND %4$s',
                           tbl, r.key_cols, r.pred, r.pair_cond) INTO n;
            passed := n = 0;
            detail := CASE WHEN n = 0 THEN 'no conflicting rows' ELSE format('%s conflicting pairs of rows', n) END;
        END IF;
        RETURN NEXT;
    END LOOP;

    -- Every foreign key has its parent.
    -- The parent's key compared with the constraint's own operators
    -- (conpfeqop); MATCH FULL also refuses partly-NULL keys; a NOT VALID
    -- key is not enforced for existing rows, so it is not checked.
    FOR r IN SELECT c.conname, c.confrelid::regclass AS parent, c.convalidated,
                    c.confmatchtype = 'f' AS match_full,
                    string_agg(format('p.%I OPERATOR(%I.%s) t.%I', pa.attname, ns.nspname,
                                      o.oprname, ca.attname), ' AND ') AS cond,
                    string_agg(format('t.%I IS NOT NULL', ca.attname), ' AND ') AS nn,
                    string_agg(format('t.%I IS NULL', ca.attname), ' OR ') AS anynull
               FROM pg_constraint c
               CROSS JOIN LATERAL unnest(c.conkey, c.confkey, c.conpfeqop) k(child, par, op)
               JOIN pg_attribute ca ON ca.attrelid = c.conrelid AND ca.attnum = k.child
               JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.par
               JOIN pg_operator o ON o.oid = k.op
               JOIN pg_namespace ns ON ns.oid = o.oprnamespace
              WHERE c.conrelid = tbl AND c.contype = 'f'
              GROUP BY c.conname, c.confrelid, c.convalidated, c.confmatchtype
              ORDER BY c.conname LOOP
        IF NOT r.convalidated THEN
            "check" := format('foreign key %s', r.conname); passed := NULL;
            detail := 'not checked: NOT VALID (not enforced for existing rows; VALIDATE CONSTRAINT checks them)';
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF NOT has_table_privilege(r.parent, 'SELECT') THEN
            "check" := format('foreign key %s', r.conname); passed := NULL;
            detail := format('not checked: the owner of %s may not read %s', tbl, r.parent);
            RETURN NEXT;
            CONTINUE;
        END IF;
        EXECUTE format('SELECT count(*) FROM %s t WHERE (%s AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s))%s',
                       tbl, r.nn, r.parent, r.cond,
                       CASE WHEN r.match_full
                            THEN format(' OR (NOT (%s) AND (%s))', r.nn, r.anynull) ELSE '' END) INTO n;
        "check" := format('foreign key %s', r.conname); passed := n = 0;
        detail := CASE WHEN n = 0 THEN format('every row has its %s', r.parent)
                       ELSE format('%s rows without a parent in %s', n, r.parent) END;
        RETURN NEXT;
    END LOOP;

    -- pg_steward's own rules (on the table or a partitioned ancestor).
    FOR r IN SELECT cr.attname, cr.kind, cr.machine
               FROM steward.column_rules cr
              WHERE cr.relid = tbl
                 OR cr.relid IN (SELECT relid FROM pg_partition_ancestors(tbl))
              ORDER BY cr.kind, cr.attname LOOP
        IF r.kind = 'version' THEN
            EXECUTE format('SELECT count(*) FROM %s WHERE %I < 1', tbl, r.attname) INTO n;
            "check" := format('versions %I', r.attname); passed := n = 0;
            detail := CASE WHEN n = 0 THEN 'all versions >= 1' ELSE format('%s rows with a version below 1', n) END;
            RETURN NEXT;
        ELSIF r.kind = 'state' THEN
            -- The public view: this body runs as the table owner.
            SELECT m.states INTO states FROM steward.state_machines m WHERE m.name = r.machine;
            EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NULL OR NOT (%I::text = ANY ($1))',
                           tbl, r.attname, r.attname) INTO n USING states;
            "check" := format('states %I', r.attname); passed := n = 0;
            detail := CASE WHEN n = 0 THEN format('all rows in states of %s', r.machine)
                           ELSE format('%s rows in states %s does not declare', n, r.machine) END;
            RETURN NEXT;
        END IF;
    END LOOP;

    -- steward_hash indexes are consistent with the table.
    FOR r IN SELECT i.indexrelid::regclass AS idx
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               JOIN pg_am am ON am.oid = c.relam
              WHERE i.indrelid = tbl AND am.amname = 'steward_hash' AND i.indisvalid
                AND c.relkind = 'i' LOOP
        SELECT count(*) INTO n FROM steward.verify_index(r.idx);
        "check" := format('index %s', r.idx); passed := n = 0;
        detail := CASE WHEN n = 0 THEN 'consistent' ELSE format('%s problems (see steward.verify_index)', n) END;
        RETURN NEXT;
    END LOOP;
END
$$;
CREATE OR REPLACE FUNCTION steward._checksum_ranges_rows(tbl regclass, key_col name, buckets integer)
RETURNS TABLE (bucket integer, rows bigint, checksum text, min_key text, max_key text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_roles o ON o.oid = c.relowner
                    WHERE c.oid = tbl AND o.rolname = current_user) THEN
        RAISE EXCEPTION 'steward._checksum_ranges_rows runs only as the owner of %', tbl
            USING ERRCODE = 'insufficient_privilege', HINT = 'Call steward.checksum_ranges().';
    END IF;
    IF buckets IS NULL OR buckets < 1 OR buckets > 100000 THEN
        RAISE EXCEPTION 'buckets must be between 1 and 100000, got %', buckets
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = key_col
                                              AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', key_col, tbl
            USING ERRCODE = 'undefined_column';
    END IF;
    -- min_key/max_key in the key type's own order where it has min() and
    -- max() (numbers, text, dates, enums, ...); types without them (uuid,
    -- bool, bytea, ...) show the smallest and largest key text.
    BEGIN
        RETURN QUERY EXECUTE format(
            'SELECT b::int, count(*), '
            '       to_hex(((sum(h) %% 18446744073709551616 + 18446744073709551616) %% 18446744073709551616'
            '               - 9223372036854775808)::bigint), '
            '       format(''%%s'', min(k)), format(''%%s'', max(k)) '
            '  FROM (SELECT (hashtextextended(format(''%%s'', %I), 0) %% $1 + $1) %% $1 AS b, %I AS k, '
            '               hashtextextended(format(''%%s'', t), 0)::numeric AS h FROM %s t) s '
            ' GROUP BY b ORDER BY b', key_col, key_col, tbl) USING buckets;
    EXCEPTION WHEN undefined_function THEN
        RETURN QUERY EXECUTE format(
            'SELECT b::int, count(*), '
            '       to_hex(((sum(h) %% 18446744073709551616 + 18446744073709551616) %% 18446744073709551616'
            '               - 9223372036854775808)::bigint), '
            '       min(k COLLATE "C"), max(k COLLATE "C") '
            '  FROM (SELECT (hashtextextended(format(''%%s'', %I), 0) %% $1 + $1) %% $1 AS b, '
            '               format(''%%s'', %I) AS k, '
            '               hashtextextended(format(''%%s'', t), 0)::numeric AS h FROM %s t) s '
            ' GROUP BY b ORDER BY b', key_col, key_col, tbl) USING buckets;
    END;
END
$$;
