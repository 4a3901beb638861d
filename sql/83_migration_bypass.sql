-- Writes that could skip a migration's triggers (recheck8 N4, review8 #23):
-- a logical-replication subscriber's apply worker writes under
-- session_replication_role = replica, and restores set
-- check_function_bodies = off.  The relayout and dual-write triggers are
-- ENABLE ALWAYS, so replica writes reach both layouts or shapes; the
-- relayout trigger skips only INSERTs with check_function_bodies = off (a
-- restore brings both layouts' rows); and complete, cleanup and a rollback
-- after complete re-check under their lock that no write reached one
-- layout or shape only, refusing (55000) instead of losing it.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE FUNCTION rows_of(rel regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE res text;
BEGIN
    EXECUTE format('SELECT string_agg(format(''%%s|%%s'', id, v), '' '' ORDER BY id) FROM %s', rel) INTO res;
    RETURN res;
END $$;
-- A table (id, v) of n rows and a relayout <table>_rl of it by HASH (id).
CREATE FUNCTION relayout_of(tbl text, n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, v int) USING steward', tbl);
    EXECUTE format('INSERT INTO %I SELECT g, g FROM generate_series(1, %s) g', tbl, n);
    PERFORM steward.migration_start(tbl || '_rl', jsonb_build_array(jsonb_build_object('relayout',
        jsonb_build_object('table', tbl, 'partition_by', 'HASH (id)', 'partitions', 2))));
END $$;
-- Did every check but the distribution pass?
CREATE FUNCTION validated(mig text) RETURNS boolean LANGUAGE sql AS $$
    SELECT bool_and(passed) FROM steward.migration_validate(mig) WHERE "check" NOT LIKE 'partition%'
$$;

-- 1. Relayout of a plain table, writes under session_replication_role =
-- replica before and after complete (the review's cr3/cr5).
SELECT relayout_of('cr3', 5);
SELECT tgrelid::regclass, tgname, tgenabled FROM pg_trigger
 WHERE tgname LIKE 'zz_steward%' ORDER BY tgrelid::regclass::text, 2;
SET session_replication_role = replica;
UPDATE cr3 SET v = 41 WHERE id = 1;
CALL steward.migration_backfill('cr3_rl');
SELECT validated('cr3_rl');
UPDATE cr3 SET v = 42 WHERE id = 1; DELETE FROM cr3 WHERE id = 2; INSERT INTO cr3 VALUES (9, 9);
COPY cr3 FROM stdin;
10	10
\.
TRUNCATE cr3;                                       -- refused here too
RESET session_replication_role;
SELECT rows_of('cr3') AS old_layout, rows_of('cr3_relayout_new') AS new_layout;
SELECT steward.migration_complete('cr3_rl');
SET session_replication_role = replica;
UPDATE cr3 SET v = 43 WHERE id = 3; DELETE FROM cr3 WHERE id = 4; INSERT INTO cr3 VALUES (11, 11);
RESET session_replication_role;
SELECT steward.migration_rollback('cr3_rl');
SELECT rows_of('cr3') AS after_rollback;

-- 2. Relayout of a partitioned table: its partitions and one created
-- during the relayout carry the ALWAYS triggers.
CREATE TABLE pr (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
CREATE TABLE pr1 PARTITION OF pr FOR VALUES FROM (0) TO (100) USING steward;
INSERT INTO pr SELECT g, g FROM generate_series(1, 6) g;
SELECT steward.migration_start('pr_rl', '[{"relayout": {"table": "pr", "partition_by": "HASH (id)", "partitions": 2}}]');
CREATE TABLE pr2 PARTITION OF pr FOR VALUES FROM (100) TO (200) USING steward;
SELECT tgrelid::regclass, tgname, tgenabled FROM pg_trigger
 WHERE tgname LIKE 'zz_steward%' AND tgrelid::regclass::text LIKE 'pr%' ORDER BY tgrelid::regclass::text, 2;
CALL steward.migration_backfill('pr_rl');
SET session_replication_role = replica;
UPDATE pr SET v = 42 WHERE id = 1; DELETE FROM pr WHERE id = 2; INSERT INTO pr VALUES (9, 9), (109, 109);
RESET session_replication_role;
SELECT "check", passed FROM steward.migration_validate('pr_rl') WHERE "check" NOT LIKE 'partition%' ORDER BY 1;
SELECT steward.migration_complete('pr_rl');
SET session_replication_role = replica;
UPDATE pr SET v = 43 WHERE id = 3; DELETE FROM pr WHERE id = 4; INSERT INTO pr VALUES (11, 11);
RESET session_replication_role;
SELECT rows_of('pr') AS new_layout, rows_of('pr_relayout_old') AS old_layout;
SELECT steward.migration_cleanup('pr_rl');

-- 3. check_function_bodies = off (what restores set): UPDATE and DELETE
-- are applied; an INSERT is not (a restore brings both layouts' rows), so
-- complete refuses until a backfill copied it and validate passed again.
SELECT relayout_of('cr4', 5);
CALL steward.migration_backfill('cr4_rl');
SELECT validated('cr4_rl');
SET check_function_bodies = off;
UPDATE cr4 SET v = 42 WHERE id = 1; DELETE FROM cr4 WHERE id = 2; INSERT INTO cr4 VALUES (9, 9);
RESET check_function_bodies;
SELECT rows_of('cr4') AS old_layout, rows_of('cr4_relayout_new') AS new_layout;
SELECT steward.migration_complete('cr4_rl');
SELECT "check", passed, detail FROM steward.migration_validate('cr4_rl')
 WHERE NOT passed AND "check" NOT LIKE 'partition%' ORDER BY 1;
CALL steward.migration_backfill('cr4_rl');
SELECT validated('cr4_rl');
SELECT steward.migration_complete('cr4_rl');
-- After complete: an INSERT into the table (now the new layout) skips the
-- old one, so a rollback would lose it; cleanup keeps it.
SET check_function_bodies = off;
INSERT INTO cr4 VALUES (10, 10);
RESET check_function_bodies;
SELECT steward.migration_rollback('cr4_rl');
SELECT steward.migration_cleanup('cr4_rl');
SELECT rows_of('cr4') AS after_cleanup;

-- ... and the other way round: a row only in the old layout after complete
-- would be lost by cleanup; a rollback keeps it.
SELECT relayout_of('cr6', 3);
CALL steward.migration_backfill('cr6_rl');
SELECT validated('cr6_rl');
SELECT steward.migration_complete('cr6_rl');
SET check_function_bodies = off;
INSERT INTO cr6_relayout_old VALUES (7, 7);
RESET check_function_bodies;
SELECT steward.migration_cleanup('cr6_rl');
SELECT steward.migration_rollback('cr6_rl');
SELECT rows_of('cr6') AS after_rollback;

-- 4. A disabled relayout trigger (the DDL guard refuses DISABLE; a
-- superuser goes around it): complete names it.
SELECT relayout_of('cr7', 3);
CALL steward.migration_backfill('cr7_rl');
SELECT validated('cr7_rl');
ALTER TABLE cr7 DISABLE TRIGGER zz_steward_relayout;
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
ALTER TABLE cr7 DISABLE TRIGGER zz_steward_relayout;
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
UPDATE cr7 SET v = 42 WHERE id = 1;
SELECT steward.migration_complete('cr7_rl');
ALTER TABLE cr7 ENABLE TRIGGER zz_steward_relayout;       -- the guard refuses ENABLE [ORIGIN] (recheck10 N9)
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
ALTER TABLE cr7 ENABLE TRIGGER zz_steward_relayout;       -- origin only: still refused
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
SELECT steward.migration_complete('cr7_rl');
ALTER TABLE cr7 ENABLE ALWAYS TRIGGER zz_steward_relayout;
SELECT steward.migration_rollback('cr7_rl');
SELECT rows_of('cr7') AS after_rollback;

-- 5. Column migrations (alter_column, add_column) under replica, before
-- and after complete (the review's cm5 and rp2).
CREATE TABLE cm5 (id int PRIMARY KEY, amt numeric(12,2)) USING steward;
INSERT INTO cm5 SELECT g, g FROM generate_series(1, 4) g;
SELECT steward.migration_start('cm5_m', '[{"alter_column": {"table": "cm5", "column": "amt", "name": "cents", "type": "bigint", "up": "(amt*100)::bigint", "down": "cents/100.0"}}]');
SELECT tgrelid::regclass, tgname, tgenabled FROM pg_trigger WHERE tgname = 'zz_steward_migration' ORDER BY tgrelid::regclass::text;
CALL steward.migration_backfill('cm5_m');
SELECT validated('cm5_m');
SET session_replication_role = replica;
UPDATE cm5 SET amt = 42 WHERE id = 1; INSERT INTO cm5 (id, amt) VALUES (9, 9);
COPY cm5 (id, amt) FROM stdin;
10	10
\.
RESET session_replication_role;
SELECT steward.migration_complete('cm5_m');
SELECT id, cents, _steward_old_amt FROM cm5 ORDER BY id;
SET session_replication_role = replica;
UPDATE cm5 SET cents = 7700 WHERE id = 2; INSERT INTO cm5 (id, cents) VALUES (11, 1100);
RESET session_replication_role;
SELECT steward.migration_rollback('cm5_m');
SELECT id, amt FROM cm5 ORDER BY id;

CREATE TABLE rp2 (id int PRIMARY KEY, a int) USING steward;
INSERT INTO rp2 SELECT g, g FROM generate_series(1, 3) g;
SELECT steward.migration_start('rp2_m', '[{"add_column": {"table": "rp2", "column": "b", "type": "int", "up": "a * 2"}}]');
CALL steward.migration_backfill('rp2_m');
SET session_replication_role = replica;
UPDATE rp2 SET a = 100 WHERE id = 1; INSERT INTO rp2 (id, a) VALUES (4, 4);
RESET session_replication_role;
SELECT "check", passed FROM steward.migration_validate('rp2_m') ORDER BY 1;
SELECT steward.migration_complete('rp2_m');
SELECT steward.migration_cleanup('rp2_m');
SELECT * FROM rp2 ORDER BY id;

-- 6. A column migration's row written while its trigger was disabled
-- (around the DDL guard): complete, and after it cleanup and rollback,
-- refuse.
CREATE TABLE cm6 (id int PRIMARY KEY, amt numeric(12,2)) USING steward;
INSERT INTO cm6 SELECT g, g FROM generate_series(1, 3) g;
SELECT steward.migration_start('cm6_m', '[{"alter_column": {"table": "cm6", "column": "amt", "name": "cents", "type": "bigint", "up": "(amt*100)::bigint", "down": "cents/100.0"}}]');
CALL steward.migration_backfill('cm6_m');
SELECT validated('cm6_m');
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
ALTER TABLE cm6 DISABLE TRIGGER zz_steward_migration;
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
INSERT INTO cm6 (id, amt) VALUES (9, 9);
SELECT steward.migration_complete('cm6_m');
ALTER TABLE cm6 ENABLE ALWAYS TRIGGER zz_steward_migration;
SELECT steward.migration_complete('cm6_m');
SELECT "check", passed FROM steward.migration_validate('cm6_m') WHERE NOT passed;
CALL steward.migration_backfill('cm6_m');
SELECT validated('cm6_m');
SELECT steward.migration_complete('cm6_m');
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
ALTER TABLE cm6 DISABLE TRIGGER zz_steward_migration;
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
INSERT INTO cm6 (id, cents) VALUES (10, 1000);
ALTER TABLE cm6 ENABLE ALWAYS TRIGGER zz_steward_migration;
SELECT steward.migration_rollback('cm6_m');
SELECT steward.migration_cleanup('cm6_m');
UPDATE cm6 SET _steward_old_amt = cents / 100.0, _steward_side = 'n' WHERE _steward_side IS NULL;
SELECT steward.migration_rollback('cm6_m');
SELECT id, amt FROM cm6 ORDER BY id;

-- 7. check_function_bodies = off on a partitioned relayout (COPY and a
-- partition move too) and on a column migration, whose trigger computes
-- the other shape whatever the setting.
CREATE TABLE pq (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
CREATE TABLE pq1 PARTITION OF pq FOR VALUES FROM (0) TO (100) USING steward;
CREATE TABLE pq2 PARTITION OF pq FOR VALUES FROM (100) TO (200) USING steward;
INSERT INTO pq SELECT g, g FROM generate_series(1, 4) g;
SELECT steward.migration_start('pqb_rl', '[{"relayout": {"table": "pq", "partition_by": "HASH (id)", "partitions": 2}}]');
CALL steward.migration_backfill('pqb_rl');
SET check_function_bodies = off;
UPDATE pq SET v = 42 WHERE id = 1; DELETE FROM pq WHERE id = 2;
UPDATE pq SET id = 103 WHERE id = 3;                  -- a partition move: DELETE + INSERT
COPY pq FROM stdin;
150	150
\.
TRUNCATE pq1;
INSERT INTO pq VALUES (4, 44) ON CONFLICT (id) DO UPDATE SET v = excluded.v;   -- its UPDATE is applied
RESET check_function_bodies;
SELECT rows_of('pq') AS old_layout, rows_of('pq_relayout_new') AS new_layout;
SELECT validated('pqb_rl');
SELECT steward.migration_complete('pqb_rl');
CALL steward.migration_backfill('pqb_rl');
SELECT validated('pqb_rl');
SELECT steward.migration_complete('pqb_rl');
SELECT steward.migration_cleanup('pqb_rl');
SELECT rows_of('pq') AS after_cleanup;

CREATE TABLE cm8 (id int PRIMARY KEY, amt numeric(12,2)) USING steward;
INSERT INTO cm8 SELECT g, g FROM generate_series(1, 3) g;
SELECT steward.migration_start('cm8_m', '[{"alter_column": {"table": "cm8", "column": "amt", "name": "cents", "type": "bigint", "up": "(amt*100)::bigint", "down": "cents/100.0"}}]');
CALL steward.migration_backfill('cm8_m');
SET check_function_bodies = off;
UPDATE cm8 SET amt = 42 WHERE id = 1; INSERT INTO cm8 (id, amt) VALUES (9, 9);
RESET check_function_bodies;
SELECT validated('cm8_m');
SELECT steward.migration_complete('cm8_m');
SET check_function_bodies = off;
UPDATE cm8 SET cents = 7700 WHERE id = 2;
RESET check_function_bodies;
SELECT steward.migration_rollback('cm8_m');
SELECT id, amt FROM cm8 ORDER BY id;

DROP TABLE cr3, pr, cr4, cr6, cr7, cm5, rp2, cm6, pq, cm8;
DROP FUNCTION rows_of(regclass), relayout_of(text, int), validated(text);

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('cr3_rl'), ('pr_rl'), ('cr4_rl'), ('cr6_rl'),
    ('cr7_rl'), ('cm5_m'), ('rp2_m'), ('cm6_m'), ('pqb_rl'), ('cm8_m');
\i test/sql/drop_migration_records.sql
