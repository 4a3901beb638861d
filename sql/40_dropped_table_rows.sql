-- recheck8 N3, review8 #17: a dropped table leaves no row keyed by its
-- OID in steward's tables: its retention setting (plain DROP TABLE, and
-- the old layout a relayout's cleanup drops), capacity samples,
-- validation and transition runs go; the migration catalog keeps the
-- table's name at start with relid NULL (its column rows go).  A row
-- left behind named a bare OID, dumped as a number and bound, in a
-- restored cluster, to whatever relation got it.  A column migration
-- whose table is dropped (CASCADE) leaves no empty schemas behind.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE dtr_plain (id int PRIMARY KEY, s text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.create_state_machine('dtr_m', ARRAY['new', 'paid'], ARRAY['new'], ARRAY['new->paid']);
SELECT steward.attach_state_machine('dtr_plain', 's', 'dtr_m');
INSERT INTO dtr_plain (id) SELECT g FROM generate_series(1, 3) g;
SELECT steward.set_retention('dtr_plain', '30 days');
SELECT steward.set_state_check('dtr_plain', 'paid', 'SELECT 0');
SELECT count(*) FROM steward.validate('dtr_plain');
CALL steward.run_transition('dtr_plain', 'new', 'paid');
CREATE TEMP TABLE dtr_t0 AS SELECT clock_timestamp() AS t0;
SELECT steward.capacity_sample();
CREATE TEMP TABLE dtr_oid AS SELECT 'dtr_plain'::regclass::oid AS relid;
SELECT (SELECT count(*) FROM steward.table_retention r, dtr_oid o WHERE r.relid = o.relid) AS retention,
       (SELECT count(*) FROM steward.capacity_samples s, dtr_oid o WHERE s.relid = o.relid) > 0 AS samples,
       (SELECT count(*) FROM steward.validation_runs v, dtr_oid o WHERE v.relid = o.relid) AS validations,
       (SELECT count(*) FROM steward.transition_runs t, dtr_oid o WHERE t.relid = o.relid) AS transitions;
DROP TABLE dtr_plain;
SELECT (SELECT count(*) FROM steward.table_retention r, dtr_oid o WHERE r.relid = o.relid) AS retention,
       (SELECT count(*) FROM steward.capacity_samples s, dtr_oid o WHERE s.relid = o.relid) AS samples,
       (SELECT count(*) FROM steward.validation_runs v, dtr_oid o WHERE v.relid = o.relid) AS validations,
       (SELECT count(*) FROM steward.transition_runs t, dtr_oid o WHERE t.relid = o.relid) AS transitions;
SELECT steward.drop_state_machine('dtr_m');

-- A relayout: complete carries the retention to the new layout; cleanup
-- drops the old layout, and its row with it.
CREATE TABLE dtr_rl (id int PRIMARY KEY, v int) USING steward;
INSERT INTO dtr_rl SELECT g, g FROM generate_series(1, 10) g;
SELECT steward.set_retention('dtr_rl', '90 days');
SELECT steward.migration_start('dtr_rl_m',
    '[{"relayout": {"table": "dtr_rl", "partition_by": "HASH (id)", "partitions": 2}}]');
CALL steward.migration_backfill('dtr_rl_m');
SELECT bool_and(passed) FROM steward.migration_validate('dtr_rl_m');
SELECT steward.migration_complete('dtr_rl_m');
SELECT relid, retention FROM steward.table_retention WHERE relid::text LIKE 'dtr_rl%' ORDER BY relid::regclass::text COLLATE "C";
SELECT steward.migration_cleanup('dtr_rl_m');
-- Only the live table's row: no bare OID.
SELECT relid, retention FROM steward.table_retention ORDER BY relid::regclass::text COLLATE "C";
SELECT count(*) AS dangling FROM steward.table_retention r
 WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = r.relid);

-- DROP SCHEMA ... CASCADE drops the rows of every table in it.
CREATE SCHEMA dtr_s;
CREATE TABLE dtr_s.t (id int PRIMARY KEY) USING steward;
SELECT steward.set_retention('dtr_s.t', '1 day');
DROP SCHEMA dtr_s CASCADE;
SELECT count(*) AS dangling FROM steward.table_retention r
 WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = r.relid);

-- The relayout's record: the old layout's row keeps its name, no OID.
SELECT ord, relid, table_name, active FROM steward.migration_tables
 WHERE migration = 'dtr_rl_m' ORDER BY ord;
SELECT name, tables, result FROM steward.migrations WHERE name = 'dtr_rl_m';

-- A column migration whose table is dropped, by its owner.
CREATE ROLE dtr_owner;
GRANT CREATE ON SCHEMA public TO dtr_owner;
GRANT CREATE ON DATABASE regression TO dtr_owner;
SET ROLE dtr_owner;
CREATE TABLE dtr_cm (id int PRIMARY KEY, a int) USING steward;
SELECT steward.migration_start('dtr_cm_m', '[{"add_column": {"table": "dtr_cm", "column": "b",
    "type": "int", "up": "a * 2"}}]');
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'dtr_cm_m%' ORDER BY 1;
DROP TABLE dtr_cm CASCADE;
-- The owner still sees the record (it started the migration), and a
-- rollback says why it cannot run.
SELECT name, phase, result FROM steward.migrations WHERE name = 'dtr_cm_m';
SELECT steward.migration_rollback('dtr_cm_m');
RESET ROLE;
SELECT name, tables, result FROM steward.migrations WHERE name = 'dtr_cm_m';
SELECT ord, relid, table_name, active FROM steward.migration_tables WHERE migration = 'dtr_cm_m';
SELECT count(*) AS column_rows FROM steward.migration_columns WHERE migration = 'dtr_cm_m';
SELECT count(*) AS schemas_left FROM pg_namespace WHERE nspname LIKE 'dtr_cm_m%';

-- An index migration's table dropped.
CREATE TABLE dtr_ix (id int PRIMARY KEY, a int) USING steward;
SELECT steward.migration_start('dtr_ix_m', '[{"create_index": {"table": "dtr_ix", "name": "dtr_ix_a", "definition": "(a)"}}]');
DROP TABLE dtr_ix;
SELECT relid, index_name FROM steward.migration_indexes WHERE migration = 'dtr_ix_m';
SELECT count(*) AS dangling FROM steward.migration_tables t
 WHERE t.relid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.relid);

DROP TABLE dtr_rl;
SELECT ord, relid, table_name, active FROM steward.migration_tables WHERE migration = 'dtr_rl_m' ORDER BY ord;
-- This file's migration records go, validations too: a later file may
-- count them.
CREATE TEMP TABLE gone (name) AS VALUES ('dtr_rl_m'), ('dtr_cm_m'), ('dtr_ix_m');
\i test/sql/drop_migration_records.sql
REVOKE CREATE ON SCHEMA public FROM dtr_owner;
REVOKE CREATE ON DATABASE regression FROM dtr_owner;
DROP ROLE dtr_owner;
-- The sample's rows go (465_zz_leftovers: it sampled pg_steward's own tables too).
DELETE FROM steward.capacity_samples WHERE sampled_at >= (SELECT t0 FROM dtr_t0);
DROP TABLE dtr_t0;
