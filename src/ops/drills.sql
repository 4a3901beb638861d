--------------------------------------------------------------------------
-- Restore drills (src/ops/steward-drill)
--------------------------------------------------------------------------

-- Restore drills, recorded by steward-drill.
CREATE TABLE steward.restore_drills (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host           text,
    started_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    finished_at    timestamptz,
    duration_s     numeric,
    recovery_point pg_lsn,
    target_time    timestamptz,
    tables         integer,
    result         text CHECK (result IN ('passed', 'failed')),
    details        text
);
SELECT pg_catalog.pg_extension_config_dump('steward.restore_drills', '');
SELECT pg_catalog.pg_extension_config_dump('steward.restore_drills_id_seq', '');
REVOKE ALL ON steward.restore_drills FROM PUBLIC;
GRANT SELECT ON steward.restore_drills TO pg_read_all_stats;

