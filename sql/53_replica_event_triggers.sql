-- pg_steward's event triggers fire under session_replication_role =
-- replica too (review N1): every one is ENABLE ALWAYS.  Before, only the
-- DROP EXTENSION guard, the relayout guard and the label loader were, so
-- a superuser (or a role granted SET on session_replication_role) in
-- replica mode could retype a ruled column past the rules, and DROP TABLE
-- left the table's rule, retention and migration rows behind.
\set SHOW_CONTEXT never
SELECT evtname, evtenabled FROM pg_event_trigger
 WHERE evtfoid::regproc::text LIKE 'steward.%' ORDER BY evtname;

SELECT steward.create_state_machine('m53', ARRAY['created', 'paid'], ARRAY['created'],
                                    ARRAY['created->paid']);
CREATE TABLE t53 (id int PRIMARY KEY, ver bigint, seq int NOT NULL DEFAULT 0,
                  st text NOT NULL DEFAULT 'created', st_at timestamptz) USING steward;
SELECT steward.track_versions('t53', 'ver');
SELECT steward.track_sequence('t53', 'seq');
SELECT steward.attach_state_machine('t53', 'st', 'm53', 'st_at');
SELECT steward.set_state_check('t53', 'paid', 'SELECT count(*) FROM public.t53 WHERE st_at IS NULL');
SELECT steward.set_retention('t53', '7 days');
INSERT INTO t53 (id) VALUES (1), (2);
CREATE TABLE p53 (id int NOT NULL, ver bigint) PARTITION BY RANGE (id);
CREATE TABLE p53_1 PARTITION OF p53 FOR VALUES FROM (0) TO (10) USING steward;
SELECT steward.track_versions('p53', 'ver');
CREATE TABLE c53 (id int PRIMARY KEY, amount int) USING steward;
SELECT steward.migration_start('c53_mig', '[{"add_column": {"table": "c53", "column": "note", "type": "text"}}]');
CREATE TABLE r53 (id int PRIMARY KEY, v int) USING steward;
SELECT steward.migration_start('r53_rl', '[{"relayout": {"table": "r53", "partition_by": "RANGE (id)",
                                            "partitions": [{"from": [null], "to": [100]}]}}]');

SET session_replication_role = replica;
-- steward_rules_storage: a rewrite through USING is refused.
ALTER TABLE t53 ALTER COLUMN ver TYPE bigint USING ver - 5;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE t53 ALTER COLUMN st TYPE text USING 'paid';
\echo :LAST_ERROR_SQLSTATE
-- ... and so is a heap partition under a table with rules.
CREATE TABLE p53_2 PARTITION OF p53 FOR VALUES FROM (10) TO (20) USING heap;
\echo :LAST_ERROR_SQLSTATE
-- steward_rules_alter_table: a type the rule cannot check.
ALTER TABLE t53 ALTER COLUMN seq TYPE text;
\echo :LAST_ERROR_SQLSTATE
-- steward_rules_written: a CHECK on the column the AM sets.
ALTER TABLE t53 ADD CONSTRAINT ver_small CHECK (ver < 100);
\echo :LAST_ERROR_SQLSTATE
-- steward_rules_alter_table: the rule follows a renamed column.
ALTER TABLE t53 RENAME COLUMN st TO status;
ALTER TABLE t53 RENAME COLUMN st_at TO status_at;
SELECT attname, kind, changed_at FROM steward.column_rules WHERE relid = 't53'::regclass ORDER BY attname;
-- The column's label, which carries the rule in dumps, follows too.
SELECT a.attname, l.label::jsonb ->> 'kind' AS kind, l.label::jsonb ->> 'changed_at' AS changed_at
  FROM pg_seclabel l
  JOIN pg_attribute a ON a.attrelid = l.objoid AND a.attnum = l.objsubid
 WHERE l.objoid = 't53'::regclass AND l.provider = 'steward' ORDER BY 1;
SELECT column_name, data_type FROM information_schema.columns
 WHERE table_name = 't53' AND column_name IN ('ver', 'seq', 'status') ORDER BY 1;

-- steward_relayout_partitions: a partition created under a layout gets
-- the TRUNCATE guard.
CREATE TABLE r53_more PARTITION OF r53_relayout_new FOR VALUES FROM (100) TO (200) USING steward;
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'r53_more'::regclass ORDER BY tgname;

-- sql_drop: the rules, the state checks, the retention and the
-- migration's table go with the tables.
DROP TABLE t53, p53;
DROP TABLE c53 CASCADE;
RESET session_replication_role;
SELECT count(*) AS rules_left FROM steward.column_rules
 WHERE relid::oid NOT IN (SELECT oid FROM pg_class);
SELECT count(*) AS checks_left FROM steward.state_checks
 WHERE relid::oid NOT IN (SELECT oid FROM pg_class);
SELECT count(*) AS retention_left FROM steward.table_retention
 WHERE relid::oid NOT IN (SELECT oid FROM pg_class);
SELECT m.status, t.active, t.relid FROM steward.migration_runs m
  JOIN steward.migration_tables t ON t.migration = m.name WHERE m.name = 'c53_mig';
SELECT steward.migration_rollback('r53_rl');
DROP TABLE r53;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('c53_mig'), ('r53_rl');
\i test/sql/drop_migration_records.sql
SELECT steward.drop_state_machine('m53');
