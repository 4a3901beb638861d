--------------------------------------------------------------------------
-- Wait sampling, lock contention and hot rows (src/stats)
--------------------------------------------------------------------------

-- Wait-event samples (background worker, every steward.sample_interval_ms).
CREATE FUNCTION steward._waits(OUT dbid oid, OUT event_type text, OUT event text,
                               OUT queryid bigint, OUT samples bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_waits'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW steward.waits AS
SELECT event_type, event, queryid, samples,
       round(samples::numeric / nullif(sum(samples) OVER (), 0), 4) AS share,
       dbid
  FROM steward._waits();
GRANT SELECT ON steward.waits TO PUBLIC;

-- wait_seconds: each sample counts the steward.sample_interval in effect
-- when it was taken, so the sum is a counter a reload does not rescale
-- (samples times the interval of now would be).
CREATE FUNCTION steward._lock_contention(OUT dbid oid, OUT relid oid, OUT locktype text,
                                         OUT lock_mode text, OUT waiting_queryid bigint,
                                         OUT blocking_queryid bigint, OUT waiting_pid integer,
                                         OUT blocking_pid integer, OUT samples bigint,
                                         OUT wait_seconds double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_lock_contention_v2'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW steward.lock_contention AS
SELECT CASE WHEN l.dbid = d.oid THEN l.relid::regclass END AS relation,
       l.locktype, l.lock_mode, l.waiting_queryid, l.blocking_queryid,
       l.waiting_pid, l.blocking_pid, l.samples, l.dbid, l.wait_seconds
  FROM steward._lock_contention() l
  LEFT JOIN pg_catalog.pg_database d ON d.datname = current_database();
GRANT SELECT ON steward.lock_contention TO pg_read_all_stats;
-- The function shows what the view shows: the same roles may call it.
REVOKE ALL ON FUNCTION steward._lock_contention() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward._lock_contention() TO pg_read_all_stats;

-- Most-updated rows per steward table (space-saving sketch).
CREATE FUNCTION steward._hot_rows(OUT relid oid, OUT key_text text, OUT updates bigint,
                                  OUT error_bound bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_hot_rows'
LANGUAGE C STRICT VOLATILE;

-- key_text is shown only to roles that may read the key columns (SELECT on
-- the table or on them, no row security applying): C, steward_hot_rows.
CREATE VIEW steward.hot_rows AS
SELECT relid::regclass AS relid, key_text, updates, error_bound
  FROM steward._hot_rows()
 ORDER BY relid, updates DESC;
GRANT SELECT ON steward.hot_rows TO PUBLIC;

