-- A check of steward.health that measured nothing says 'unknown', not
-- 'ok', with a first_response saying what would let it judge (health3).
-- backup_age_s measures only a backup the server keeps: one a pgBackRest
-- drill restored.  A drill without --pgbackrest restores a base backup it
-- took itself, and the old view measured that throwaway backup: 'ok' after
-- any passed drill, on a server that keeps no backups.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
DELETE FROM steward.restore_drills;
CREATE VIEW h3_drill_checks AS
SELECT "check", status, value IS NOT NULL AS measured, first_response
  FROM steward.health
 WHERE "check" IN ('restore_drill_age_s', 'restore_drill_duration_s', 'restore_drill_failed',
                   'backup_age_s', 'recovery_point_s')
 ORDER BY 1;

-- No drill at all: never drilled warns (as before), the other drill checks
-- cannot judge.
SELECT * FROM h3_drill_checks;

-- A passed drill without --pgbackrest (its own base backup, 100 s old):
-- the drill checks judge, backup_age_s still knows no backup.
INSERT INTO steward.restore_drills (started_at, finished_at, duration_s, tables, result,
                                    backup_source, backup_time)
VALUES (now() - interval '90 s', now() - interval '60 s', 30, 1, 'passed',
        'pg_basebackup', now() - interval '100 s');
SELECT * FROM h3_drill_checks;

-- A failed pgBackRest drill is no known backup either.
INSERT INTO steward.restore_drills (started_at, finished_at, duration_s, tables, result,
                                    backup_source, backup_label, backup_time)
VALUES (now() - interval '50 s', now() - interval '40 s', 10, 1, 'failed',
        'pgbackrest:main', '20261201-000000F', now() - interval '1 day');
SELECT "check", status, measured FROM h3_drill_checks WHERE "check" = 'backup_age_s';

-- A passed pgBackRest drill of a backup 200 s old, to a target time it
-- reached 30 s short of: backup_age_s and recovery_point_s judge by
-- steward.backup_max_age and steward.rpo.
INSERT INTO steward.restore_drills (started_at, finished_at, duration_s, tables, result,
                                    backup_source, backup_label, backup_time,
                                    target_time, recovered_to)
VALUES (now() - interval '30 s', now() - interval '20 s', 10, 1, 'passed',
        'pgbackrest:main', '20261201-000000F_20261201-010000I', now() - interval '200 s',
        now() - interval '100 s', now() - interval '130 s');
SELECT "check", status, round(value) AS value FROM steward.health
 WHERE "check" IN ('backup_age_s', 'recovery_point_s') ORDER BY 1;
SET steward.backup_max_age = '4min';
SELECT "check", status FROM steward.health WHERE "check" = 'backup_age_s';
SET steward.backup_max_age = 150;
SELECT "check", status, first_response FROM steward.health WHERE "check" = 'backup_age_s';
RESET steward.backup_max_age;

-- Replication on a server with no standby: nothing measured, unless
-- standbys are expected (then none streaming is critical).
SELECT "check", status, value, first_response FROM steward.health
 WHERE "check" IN ('replication_lag_s', 'standbys_streaming') ORDER BY 1;
SET steward.expected_standbys = 2;
SELECT "check", status, value FROM steward.health WHERE "check" = 'standbys_streaming';
RESET steward.expected_standbys;

-- Capacity: before its samples span steward.capacity_min_history growth is
-- not measured: unknown; samples two hours apart are measured (whatever
-- the other steward tables of this database grow).  A table that does not
-- grow is measured too: an infinite runway.
CREATE TABLE h3_cap (id int PRIMARY KEY) USING steward;
INSERT INTO steward.capacity_samples (sampled_at, relid, writes, bytes)
VALUES (now() - interval '2 hours', 'h3_cap'::regclass, 0, 8192),
       (now() - interval '1 minute', 'h3_cap'::regclass, 0, 8192);
SET steward.capacity_min_history = '1000d';
SELECT "check", status, value, first_response FROM steward.health WHERE "check" = 'capacity_runway_days';
RESET steward.capacity_min_history;
SELECT "check", status <> 'unknown' AS judged, value IS NOT NULL AS measured FROM steward.health
 WHERE "check" = 'capacity_runway_days';
SELECT (c.growth_bytes_per_day = 0) = (h.value = 'Infinity') AS infinite_exactly_when_not_growing
  FROM steward.health h, steward.capacity c
 WHERE h."check" = 'capacity_runway_days' AND c.relid IS NULL;

-- No check of steward.health is 'ok' without a value.
SELECT count(*) AS ok_without_value FROM steward.health WHERE status = 'ok' AND value IS NULL;

DROP TABLE h3_cap;
DELETE FROM steward.capacity_samples WHERE relid NOT IN (SELECT oid FROM pg_catalog.pg_class);
DROP VIEW h3_drill_checks;
DELETE FROM steward.restore_drills;
