-- Temporary tables take no rule, state check or retention setting
-- (review15 R15-3): a temporary table goes at session exit, with DISCARD
-- TEMP (so DISCARD ALL) or at an ON COMMIT DROP commit, where no sql_drop
-- event trigger fires, and the rows pg_steward kept for it stayed: its
-- machine could not be dropped ("attached to 39946.st"), DROP OWNED of
-- its owner failed the same way, and pg_dump wrote the rows by bare OID,
-- so that a restore put the rule on whichever table got that OID.
CREATE ROLE r117 LOGIN;
GRANT CREATE ON SCHEMA public TO r117;
SET ROLE r117;
SELECT steward.create_state_machine('m117', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TEMP TABLE t117 (id int PRIMARY KEY, v bigint, n int, st text DEFAULT 'a') USING steward;
SELECT steward.track_versions('t117', 'v');
SELECT steward.track_sequence('t117', 'n');
SELECT steward.attach_state_machine('t117', 'st', 'm117');
SELECT steward.set_retention('t117', '1 day');
SELECT steward.set_retention('t117', NULL);   -- removing nothing is allowed
-- A label (what a restore writes) is refused alike.
SECURITY LABEL FOR steward ON COLUMN t117.v IS '{"v": 1, "kind": "version"}';
-- So is a partitioned temporary table (its rule reaches no partition row
-- check: partitions of a temporary table are temporary).
CREATE TEMP TABLE tp117 (id int, v bigint) PARTITION BY RANGE (id);
CREATE TEMP TABLE tp117_1 PARTITION OF tp117 FOR VALUES FROM (0) TO (10) USING steward;
SELECT steward.track_versions('tp117', 'v');
RESET ROLE;
-- ... and a row written by hand (as the restore of a dump's data would).
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('t117', 'v', 'version');
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('tp117', 'v', 'version');
SELECT count(*) AS rows_of_temp_tables
  FROM steward.column_rules r JOIN pg_class c ON c.oid = r.relid
 WHERE c.relpersistence = 't';

-- ON COMMIT DROP and DISCARD TEMP leave nothing behind.
SET ROLE r117;
BEGIN;
CREATE TEMP TABLE c117 (id int PRIMARY KEY, st text DEFAULT 'a') USING steward ON COMMIT DROP;
SELECT steward.attach_state_machine('c117', 'st', 'm117');
COMMIT;
DISCARD TEMP;
RESET ROLE;
SELECT count(*) AS orphans FROM steward.column_rules WHERE relid::oid NOT IN (SELECT oid FROM pg_class);
SELECT count(*) AS orphans FROM steward.table_retention WHERE relid::oid NOT IN (SELECT oid FROM pg_class);
SELECT name, attached_to FROM steward.state_machines WHERE name = 'm117';
-- The machine can be dropped, and DROP OWNED of its owner works.
SET ROLE r117;
SELECT steward.create_state_machine('m117b', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.drop_state_machine('m117');
RESET ROLE;
DROP OWNED BY r117;
SELECT count(*) AS machines FROM steward.machine_definitions WHERE name LIKE 'm117%';

-- A permanent (here UNLOGGED) steward table takes rules as before.
CREATE UNLOGGED TABLE u117 (id int PRIMARY KEY, v bigint) USING steward;
SELECT steward.track_versions('u117', 'v');
SELECT steward.set_retention('u117', '2 days');
SELECT relid, column_name, kind FROM steward.tracked_columns WHERE relid = 'u117'::regclass;

-- Rows of relations that no longer exist (a drop no event trigger saw:
-- single-user mode, or rows from before this release) are not dumped; the
-- existing table's are.
\i test/sql/dumped_rows.sql
INSERT INTO steward.table_retention VALUES ('4000000000', '1 day');
-- (under origin such a rule row is refused 42P01: review23 R5)
SET session_replication_role = replica;
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('4000000000', 'v', 'version');
RESET session_replication_role;
SELECT * FROM pg_temp.dumped('steward.column_rules', 'relid::text || ''.'' || attname') d
 WHERE d LIKE '%u117%' OR d LIKE '4000000000%';
SELECT * FROM pg_temp.dumped('steward.table_retention', 'relid::text || '' '' || retention') d
 WHERE d LIKE '%u117%' OR d LIKE '4000000000%';
DELETE FROM steward.column_rules WHERE relid = '4000000000';
DELETE FROM steward.table_retention WHERE relid = '4000000000';

DROP TABLE u117;
REVOKE CREATE ON SCHEMA public FROM r117;
DROP ROLE r117;
