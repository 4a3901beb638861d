--------------------------------------------------------------------------
-- The governor: one pacing mechanism for background jobs (src/governor)
--------------------------------------------------------------------------

-- Jobs written in SQL or PL/pgSQL (run_transition, migration backfills)
-- register, pace every batch and end here:
--   job := steward.governor_begin('backfill', 'public.orders', 1000);
--   LOOP
--       n := steward.governor_pace(job, moved);   -- 0: wait, COMMIT and call again with 0
--       ... move n rows ...; COMMIT;
--   END LOOP;
--   PERFORM steward.governor_end(job);
CREATE FUNCTION steward.governor_begin(kind text, label text DEFAULT NULL,
                                       max_batch integer DEFAULT 1000,
                                       max_rows_per_sec integer DEFAULT NULL,
                                       ref bigint DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'steward_governor_begin_sql'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.governor_begin(text, text, integer, integer, bigint) IS
  'register a background job of this session with the governor; returns its id';

CREATE FUNCTION steward.governor_pace(job bigint, rows bigint DEFAULT 0)
RETURNS integer
AS 'MODULE_PATHNAME', 'steward_governor_pace_sql'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.governor_pace(bigint, bigint) IS
  'after a batch of rows: the next batch size, or 0 while the job must wait (commit, call again with 0)';

CREATE FUNCTION steward.governor_end(job bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_governor_end_sql'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.governor_end(bigint) IS
  'the job is over';

-- The same, saying how it ended: 'finished', 'failed' or 'cancelled'
-- (the state steward.governor_jobs keeps for it).
CREATE FUNCTION steward.governor_end(job bigint, outcome text)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_governor_end_sql'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.governor_end(bigint, text) IS
  'the job is over: finished, failed or cancelled';

CREATE FUNCTION steward._governor_jobs(
    OUT job_id bigint, OUT kind text, OUT label text, OUT ref bigint, OUT pid integer,
    OUT dbid oid, OUT state text, OUT batch_size integer, OUT max_batch integer,
    OUT duty double precision, OUT rows_per_sec double precision, OUT max_rows_per_sec integer,
    OUT rows_done bigint, OUT batches bigint, OUT last_decision text, OUT reason text,
    OUT throttled_by text, OUT p99_ratio double precision,
    OUT replication_lag_ms double precision, OUT lock_wait_samples bigint,
    OUT increases bigint, OUT decreases bigint, OUT pauses bigint,
    OUT started_at timestamptz, OUT finished_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_governor_jobs'
LANGUAGE C VOLATILE;

-- Running jobs, then the last 16 finished ones.
CREATE VIEW steward.governor_jobs AS SELECT * FROM steward._governor_jobs();
GRANT SELECT ON steward.governor_jobs TO PUBLIC;

CREATE FUNCTION steward._governor_status(
    OUT enabled boolean, OUT measuring boolean,
    OUT foreground_calls bigint, OUT foreground_p99_ms double precision,
    OUT baseline_calls bigint, OUT baseline_p99_ms double precision,
    OUT foreground_transactions bigint, OUT transaction_p99_ms double precision,
    OUT baseline_transactions bigint, OUT baseline_transaction_p99_ms double precision,
    OUT p99_ratio double precision,
    OUT wal_wait_ms_per_call double precision, OUT baseline_wal_wait_ms_per_call double precision,
    OUT cpu_wait_ms_per_call double precision, OUT baseline_cpu_wait_ms_per_call double precision,
    OUT replication_lag_ms double precision,
    OUT target_p99_ratio double precision, OUT critical_p99_ratio double precision,
    OUT max_replication_lag_ms integer, OUT simulated_until timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'steward_governor_status'
LANGUAGE C VOLATILE;

-- What a job deciding now sees: the foreground's statements and
-- transactions over steward.governor_window against their idle baseline,
-- WAL waits, run-queue (CPU) waits, replication lag, and the settings.
CREATE VIEW steward.governor AS SELECT * FROM steward._governor_status();
GRANT SELECT ON steward.governor TO PUBLIC;

CREATE FUNCTION steward._governor_decisions(OUT decision text, OUT reason text,
                                            OUT decisions bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_governor_decisions'
LANGUAGE C VOLATILE;
-- Read only through steward.metrics, which pg_read_all_stats may read.
REVOKE ALL ON FUNCTION steward._governor_decisions() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward._governor_decisions() TO pg_read_all_stats;

CREATE FUNCTION steward.governor_simulate(p99_ratio double precision,
                                          replication_lag interval DEFAULT NULL,
                                          duration interval DEFAULT '1 minute')
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'steward_governor_simulate'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.governor_simulate(double precision, interval, interval) IS
  'drill: for a while, every governed job sees the given p99 ratio and/or replication lag';
REVOKE ALL ON FUNCTION steward.governor_simulate(double precision, interval, interval) FROM PUBLIC;

CREATE FUNCTION steward.governor_trace(p99_ratio double precision[],
                                       replication_lag_ms double precision[] DEFAULT NULL,
                                       lock_waits integer[] DEFAULT NULL,
                                       foreground_calls integer[] DEFAULT NULL,
                                       cpu_wait_ratio double precision[] DEFAULT NULL,
                                       max_batch integer DEFAULT 1000,
                                       max_rows_per_sec integer DEFAULT NULL,
                                       row_ms double precision DEFAULT 0.01,
                                       job_p99_ratio double precision[] DEFAULT NULL,
                                       wal_wait_ms double precision[] DEFAULT NULL,
                                       load_ratio double precision[] DEFAULT NULL)
RETURNS TABLE (step integer, decision text, reason text, throttled_by text,
               duty double precision, batch_size integer, pause_ms double precision,
               rows_per_sec double precision)
AS 'MODULE_PATHNAME', 'steward_governor_trace'
LANGUAGE C STABLE;
COMMENT ON FUNCTION steward.governor_trace(double precision[], double precision[], integer[], integer[], double precision[], integer, integer, double precision, double precision[], double precision[], double precision[]) IS
  'the governor''s decisions for a sequence of ticks with the given signals, under the current settings';
