-- A layout dropped, or changed, around the DDL guard (recheck8 N7: a
-- superuser who disables steward_relayout_guard, or a drop from before
-- the guard existed): validate reports it as a failed row saying what to
-- do, backfill and complete refuse naming it, and rollback or cleanup
-- finish -- never SQL built from a dangling OID.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE lg_owner;
GRANT CREATE ON SCHEMA public TO lg_owner;
SET ROLE lg_owner;
CREATE TABLE dr (id int PRIMARY KEY, v int) USING steward;
INSERT INTO dr SELECT g, g FROM generate_series(1, 20) g;
CREATE TABLE ds (id int, k int, v int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE ds1 PARTITION OF ds FOR VALUES IN (1);
CREATE TABLE ds2 PARTITION OF ds FOR VALUES IN (2);
INSERT INTO ds SELECT g, 1 + g % 2, g FROM generate_series(1, 20) g;
CREATE TABLE dn (id int PRIMARY KEY, v int) USING steward;
INSERT INTO dn SELECT g, g FROM generate_series(1, 20) g;
CREATE TABLE dn2 (id int PRIMARY KEY, v int) USING steward;
INSERT INTO dn2 SELECT g, g FROM generate_series(1, 20) g;
CREATE TABLE dq (id int PRIMARY KEY, v int) USING steward;
INSERT INTO dq SELECT g, g FROM generate_series(1, 20) g;
CREATE TABLE dc (id int PRIMARY KEY, v int) USING steward;
INSERT INTO dc SELECT g, g FROM generate_series(1, 20) g;
SELECT steward.migration_start(x || '_rl', format('[{"relayout": {"table": "%s", "partition_by": "HASH (id)", "partitions": 2}}]', x)::jsonb)
  FROM unnest(ARRAY['dr', 'ds', 'dn', 'dn2', 'dq', 'dc']) x;
CALL steward.migration_backfill('ds_rl');
SELECT bool_and(passed) FROM steward.migration_validate('ds_rl');
SELECT steward.migration_complete('ds_rl');
CALL steward.migration_backfill('dn_rl');
SELECT bool_and(passed) FROM steward.migration_validate('dn_rl');
SELECT steward.migration_complete('dn_rl');
CALL steward.migration_backfill('dn2_rl');
SELECT bool_and(passed) FROM steward.migration_validate('dn2_rl');
SELECT steward.migration_complete('dn2_rl');
CALL steward.migration_backfill('dq_rl');

-- Around the guard: only a superuser can.
RESET ROLE;
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
DROP TABLE dr_relayout_new;            -- before complete: the new layout
DROP TABLE ds_relayout_old;            -- after complete: the old layout
DROP TABLE dn;                         -- after complete: the live (new) layout
DROP TABLE dn2;
DROP TABLE dq;                         -- before complete: the live (old) layout
ALTER TABLE dc ADD COLUMN note text;   -- the layouts' columns differ
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
SET ROLE lg_owner;
SELECT name, phase, result, error FROM steward.migrations WHERE name LIKE 'd%\_rl' ORDER BY name;

-- 1. The new layout dropped before complete: writes go on with a WARNING
-- that names the rollback; validate fails saying so; backfill and
-- complete refuse; the rollback leaves the table as it was.
INSERT INTO dr VALUES (21, 21);
SELECT "check", passed, detail FROM steward.migration_validate('dr_rl');
CALL steward.migration_backfill('dr_rl');
SELECT steward.migration_complete('dr_rl');
SELECT * FROM steward.migration_forget('dr');
SELECT steward.migration_rollback('dr_rl');
INSERT INTO dr VALUES (22, 22);
SELECT count(*) FROM dr;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'dr'::regclass;

-- 2. The old layout dropped after complete: no rollback any more, the
-- cleanup finishes.
INSERT INTO ds VALUES (21, 1, 21);
SELECT "check", passed, detail FROM steward.migration_validate('ds_rl');
SELECT steward.migration_rollback('ds_rl');
SELECT steward.migration_cleanup('ds_rl');
SELECT count(*) FROM ds;
SELECT tgrelid::regclass, tgname FROM pg_trigger WHERE tgname LIKE 'zz_steward%' AND tgrelid::regclass::text LIKE 'ds%';

-- 3. The live table dropped after complete: the rollback brings back the
-- old layout under the table's name; the cleanup keeps the old layout,
-- with a NOTICE.
SELECT "check", passed, detail FROM steward.migration_validate('dn_rl');
SELECT steward.migration_rollback('dn_rl');
SELECT count(*) FROM dn;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'dn'::regclass;
SELECT steward.migration_cleanup('dn2_rl');
SELECT count(*) FROM dn2_relayout_old;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'dn2_relayout_old'::regclass;

-- 4. The live table dropped before complete: the rollback keeps the new
-- layout, with a NOTICE.
SELECT "check", passed, detail FROM steward.migration_validate('dq_rl');
SELECT steward.migration_rollback('dq_rl');
SELECT count(*) FROM dq_relayout_new;

-- 5. Columns changed on one layout: validate names them instead of
-- failing on them; backfill refuses; the rollback works.
SELECT "check", passed, detail FROM steward.migration_validate('dc_rl');
CALL steward.migration_backfill('dc_rl');
SELECT steward.migration_rollback('dc_rl');
SELECT count(*), count(note) FROM dc;

SELECT name, result FROM steward.migrations WHERE name LIKE 'd%\_rl' ORDER BY name;
DROP TABLE dr, ds, dn, dn2_relayout_old, dq_relayout_new, dc;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM lg_owner;
DROP ROLE lg_owner;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('dr_rl'), ('ds_rl'), ('dn_rl'), ('dn2_rl'),
    ('dq_rl'), ('dc_rl');
\i test/sql/drop_migration_records.sql
