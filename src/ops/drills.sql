--------------------------------------------------------------------------
-- Restore drills (src/ops/steward-drill)
--------------------------------------------------------------------------

-- Restore drills, recorded by steward-drill.  RPO achieved by a drill to a
-- target time: target_time - recovered_to; backup age at the drill:
-- started_at - backup_time.
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
    details        text,
    -- 0.2: where the restored backup came from and what it achieved
    backup_source  text,          -- 'pg_basebackup' or 'pgbackrest:<stanza>'
    backup_label   text,          -- pgBackRest set label
    backup_time    timestamptz,   -- when that backup finished
    recovered_to   timestamptz    -- last transaction the copy replayed (achieved recovery point)
);
SELECT pg_catalog.pg_extension_config_dump('steward.restore_drills', '');
SELECT pg_catalog.pg_extension_config_dump('steward.restore_drills_id_seq', '');
REVOKE ALL ON steward.restore_drills FROM PUBLIC;
GRANT SELECT ON steward.restore_drills TO pg_read_all_stats;
-- The database's owner reads its drills too (pg_dump --enable-row-security
-- by the owner of the database); the sequence shows only how many.
GRANT SELECT ON steward.restore_drills, steward.restore_drills_id_seq TO PUBLIC;
ALTER TABLE steward.restore_drills ENABLE ROW LEVEL SECURITY;
CREATE POLICY database_owner ON steward.restore_drills FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')
           OR pg_catalog.pg_has_role((SELECT d.datdba FROM pg_catalog.pg_database d
                                       WHERE d.datname OPERATOR(pg_catalog.=)
                                             pg_catalog.current_database()), 'USAGE'));

-- The whole log of each drill (review9 F17).  restore_drills.details holds
-- what the owner of the database the drill is recorded in may read: the
-- drill's own lines and those of that database's tables, other databases'
-- tables only as counts (one tenant's database must not tell the names,
-- row counts and failures of another's tables).  Every line, other
-- databases' tables too, is here, for pg_read_all_stats.
CREATE TABLE steward.restore_drill_log (
    drill_id bigint PRIMARY KEY,   -- restore_drills.id
    details  text NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('steward.restore_drill_log', '');
REVOKE ALL ON steward.restore_drill_log FROM PUBLIC;
-- Readable by every role, so that a database owner's pg_dump
-- --enable-row-security dumps the database; its rows only by pg_read_all_stats.
GRANT SELECT ON steward.restore_drill_log TO PUBLIC;
ALTER TABLE steward.restore_drill_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY all_stats_readers ON steward.restore_drill_log FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'));
