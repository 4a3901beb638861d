-- What single partitions of a partitioned table have on their own is
-- refused at a relayout's start, naming it (review8 #22, #18, #2): the new
-- layout's partitions get the table's constraints, indexes and rules
-- only, so it would be lost silently.  The table's state checks and
-- retention follow it to the new layout.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE ro_owner;
GRANT CREATE ON SCHEMA public TO ro_owner;
SET ROLE ro_owner;

-- (#22) idempotency keys of single partitions: refused, nothing created,
-- the key still enforced.
CREATE TABLE pay (id int, acct int, rk uuid, PRIMARY KEY (id, acct)) PARTITION BY LIST (acct);
CREATE TABLE pay1 PARTITION OF pay FOR VALUES IN (1) USING steward;
CREATE TABLE pay2 PARTITION OF pay FOR VALUES IN (2) USING steward;
ALTER TABLE pay1 ADD CONSTRAINT pay1_once EXCLUDE USING steward_hash (acct WITH =, rk WITH =);
ALTER TABLE pay2 ADD CONSTRAINT pay2_once EXCLUDE USING steward_hash (acct WITH =, rk WITH =);
INSERT INTO pay VALUES (1, 1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT steward.migration_start('pay_rl', '[{"relayout": {"table": "pay", "partition_by": "HASH (id)", "partitions": 2}}]');
SELECT to_regclass('pay_relayout_new'), (SELECT count(*) FROM steward.migrations WHERE name = 'pay_rl');
INSERT INTO pay VALUES (3, 1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11') ON CONFLICT DO NOTHING;
INSERT INTO pay VALUES (2, 1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT count(*) FROM pay;
-- a unique index or CHECK of one partition: refused the same way
ALTER TABLE pay1 DROP CONSTRAINT pay1_once;
ALTER TABLE pay2 DROP CONSTRAINT pay2_once;
CREATE UNIQUE INDEX pay2_rk ON pay2 (rk);
SELECT steward.migration_start('pay_rl', '[{"relayout": {"table": "pay", "partition_by": "HASH (id)", "partitions": 2}}]');
DROP INDEX pay2_rk;
ALTER TABLE pay2 ADD CONSTRAINT pay2_rk_set CHECK (rk IS NOT NULL);
SELECT steward.migration_start('pay_rl', '[{"relayout": {"table": "pay", "partition_by": "HASH (id)", "partitions": 2}}]');
ALTER TABLE pay2 DROP CONSTRAINT pay2_rk_set;
-- the table's own CHECK (inherited by every partition) is carried, not refused;
-- a plain index of one partition is reported, not refused
ALTER TABLE pay ADD CONSTRAINT pay_rk_set CHECK (rk IS NOT NULL);
CREATE INDEX pay1_id ON pay1 (id);
SELECT steward.migration_start('pay_rl', '[{"relayout": {"table": "pay", "partition_by": "HASH (id)", "partitions": 2}}]');
SELECT conname FROM pg_constraint WHERE conrelid = 'pay_relayout_new'::regclass AND contype = 'c';
SELECT steward.migration_rollback('pay_rl');

-- (#18) a partition's trigger, a foreign key or a view on a partition
CREATE TABLE aud (at timestamptz DEFAULT now(), what text);
CREATE FUNCTION audf() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO aud(what) VALUES (tg_table_name||':'||tg_op); RETURN new; END $$;
CREATE TABLE ptg (id int, k int, v int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE ptg1 PARTITION OF ptg FOR VALUES IN (1) USING steward;
CREATE TABLE ptg2 PARTITION OF ptg FOR VALUES IN (2) USING steward;
CREATE TRIGGER ptg1_aud AFTER INSERT OR UPDATE ON ptg1 FOR EACH ROW EXECUTE FUNCTION audf();
INSERT INTO ptg VALUES (1, 1, 0), (2, 2, 0);
SELECT steward.migration_start('ptg_rl', '[{"relayout": {"table": "ptg", "partition_by": "HASH (id)", "partitions": 2}}]');
DROP TRIGGER ptg1_aud ON ptg1;
CREATE TABLE ptg_child (id int, k int, FOREIGN KEY (id, k) REFERENCES ptg1 (id, k));
SELECT steward.migration_start('ptg_rl', '[{"relayout": {"table": "ptg", "partition_by": "HASH (id)", "partitions": 2}}]');
DROP TABLE ptg_child;
CREATE VIEW ptg1_v AS SELECT id FROM ptg1;
SELECT steward.migration_start('ptg_rl', '[{"relayout": {"table": "ptg", "partition_by": "HASH (id)", "partitions": 2}}]');
DROP VIEW ptg1_v;
ALTER TABLE ptg2 ENABLE ROW LEVEL SECURITY;
SELECT steward.migration_start('ptg_rl', '[{"relayout": {"table": "ptg", "partition_by": "HASH (id)", "partitions": 2}}]');
ALTER TABLE ptg2 DISABLE ROW LEVEL SECURITY;
-- a trigger and a foreign key on the table itself, cloned onto the
-- partitions, are not a partition's own (the trigger is refused as the
-- table's, as before)
CREATE TABLE ptg_ref (id int, k int, FOREIGN KEY (id, k) REFERENCES ptg);
SELECT steward.migration_start('ptg_rl', '[{"relayout": {"table": "ptg", "partition_by": "HASH (id)", "partitions": 2}}]');
SELECT steward.migration_rollback('ptg_rl');
DROP TABLE ptg_ref;

-- (#2 a) a rule of one partition
CREATE TABLE pp (id int, k int, seq int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE pp1 PARTITION OF pp FOR VALUES IN (1) USING steward;
CREATE TABLE pp2 PARTITION OF pp FOR VALUES IN (2) USING steward;
SELECT steward.track_sequence('pp1', 'seq');
SELECT steward.migration_start('pp_rl', '[{"relayout": {"table": "pp", "partition_by": "HASH (id)", "partitions": 2}}]');
SELECT steward.untrack('pp1', 'seq');
SELECT steward.track_sequence('pp', 'seq');
INSERT INTO pp VALUES (1, 1, 10), (2, 2, 10);
SELECT steward.migration_start('pp_rl', '[{"relayout": {"table": "pp", "partition_by": "HASH (id)", "partitions": 2}}]');
CALL steward.migration_backfill('pp_rl');
SELECT "check", passed FROM steward.migration_validate('pp_rl') WHERE NOT passed;
SELECT steward.migration_complete('pp_rl');
SELECT steward.migration_cleanup('pp_rl');
UPDATE pp SET seq = 5 WHERE id = 1;
SELECT relid::regclass, attname, kind FROM steward.column_rules WHERE relid = 'pp'::regclass;

-- (#2 b) the table's state checks and retention follow it
CREATE TABLE sc (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new', note text) USING steward;
SELECT steward.attach_state_machine('sc', 'status', 'data_lifecycle');
SELECT steward.set_state_check('sc', 'new', 'select count(*) from sc where note is null and status = ''new''');
SELECT steward.set_retention('sc', '30 days');
INSERT INTO sc (id, note) VALUES (1, 'x'), (2, NULL);
SELECT steward.migration_start('sc_rl', '[{"relayout": {"table": "sc", "partition_by": "HASH (id)", "partitions": 2}}]');
CALL steward.migration_backfill('sc_rl');
SELECT "check", passed FROM steward.migration_validate('sc_rl') WHERE NOT passed;
SELECT steward.migration_complete('sc_rl');
SELECT state, passed, violations FROM steward.validate('sc');
SELECT relid, state FROM steward.state_checks WHERE relid = 'sc'::regclass;
SELECT relid, retention FROM steward.table_retention WHERE relid = 'sc'::regclass;
-- a rollback after the cutover: the old layout kept its own
SELECT steward.migration_rollback('sc_rl');
SELECT state, passed, violations FROM steward.validate('sc');
SELECT relid, retention FROM steward.table_retention WHERE relid = 'sc'::regclass;
SELECT steward.migration_start('sc_rl2', '[{"relayout": {"table": "sc", "partition_by": "HASH (id)", "partitions": 2}}]');
CALL steward.migration_backfill('sc_rl2');
-- a rule or setting changed on one layout since the start fails validation
SELECT steward.set_retention('sc', '60 days');
SELECT steward.detach_state_machine('sc', 'status');
SELECT "check", passed, detail FROM steward.migration_validate('sc_rl2') WHERE NOT passed;
SELECT steward.migration_complete('sc_rl2');
SELECT steward.attach_state_machine('sc', 'status', 'data_lifecycle');
SELECT steward.set_state_check('sc', 'new', 'select count(*) from sc where note is null and status = ''new''');
SELECT steward.set_retention('sc_relayout_new', '60 days');
SELECT "check", passed FROM steward.migration_validate('sc_rl2') WHERE NOT passed;
SELECT steward.migration_complete('sc_rl2');
SELECT steward.migration_cleanup('sc_rl2');
UPDATE sc SET note = NULL WHERE id = 1;
SELECT state, passed, violations FROM steward.validate('sc');
SELECT relid, state FROM steward.state_checks WHERE relid = 'sc'::regclass;
SELECT relid, retention FROM steward.table_retention WHERE relid = 'sc'::regclass;

RESET ROLE;
DROP TABLE pay, aud, ptg, pp, sc;
DROP FUNCTION audf();
REVOKE CREATE ON SCHEMA public FROM ro_owner;
DROP ROLE ro_owner;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('pay_rl'), ('ptg_rl'), ('pp_rl'), ('sc_rl'), ('sc_rl2');
\i test/sql/drop_migration_records.sql
