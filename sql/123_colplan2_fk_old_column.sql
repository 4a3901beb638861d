-- A foreign key made after a column migration's start that references the
-- column the migration drops at cleanup (the old column of an
-- alter_column that writes a new one, a drop_column's): the old column
-- keeps its unique index until cleanup, so the key could be made, and
-- cleanup's DROP COLUMN then failed with a raw 2BP01 whose HINT said
-- CASCADE.  The DDL guard now refuses such a key (55006) when it is made,
-- naming the column and the migration, with the new column to reference.
-- Start, cleanup and rollback refuse (2BP01) keys to a column they drop.
-- A key to the new column, which a rollback drops, is refused the same
-- way until the cleanup (pub5: it was accepted, and blocked the rollback).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE cp2_fp (id int PRIMARY KEY, a int UNIQUE, b int UNIQUE, c int UNIQUE) USING steward;
INSERT INTO cp2_fp SELECT g, g, g, g FROM generate_series(1, 5) g;
SELECT steward.migration_start('cp2_fp_m', $$[
    {"alter_column": {"table": "cp2_fp", "column": "a", "name": "a2", "type": "bigint", "unique": true}},
    {"drop_column": {"table": "cp2_fp", "column": "b"}}]$$);
-- Refused, before and after the switch, in each form that makes a key.
CREATE TABLE cp2_fc (id int PRIMARY KEY, pa int REFERENCES cp2_fp (a));
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE cp2_fc (id int PRIMARY KEY, pa int, pc int, FOREIGN KEY (pc, pa) REFERENCES cp2_fp (c, a));
CREATE TABLE cp2_fc (id int PRIMARY KEY, pb int REFERENCES cp2_fp (b));
CREATE TABLE cp2_fc (id int PRIMARY KEY, pa int, pc int);
ALTER TABLE cp2_fc ADD FOREIGN KEY (pa) REFERENCES cp2_fp (a);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE cp2_fc ADD COLUMN pb int REFERENCES cp2_fp (b);
-- Keys to columns the migration leaves alone, or to the primary key, pass.
ALTER TABLE cp2_fc ADD FOREIGN KEY (pc) REFERENCES cp2_fp (c);
ALTER TABLE cp2_fc ADD FOREIGN KEY (id) REFERENCES cp2_fp;
CALL steward.migration_backfill('cp2_fp_m');
-- The new column has its unique index, but a rollback drops it: refused.
ALTER TABLE cp2_fc ADD COLUMN pa2 bigint REFERENCES cp2_fp (a2);
\echo :LAST_ERROR_SQLSTATE
SELECT "check", passed FROM steward.migration_validate('cp2_fp_m') WHERE NOT passed;
SELECT steward.migration_complete('cp2_fp_m');
-- After the switch the old column is under another name: still refused.
SELECT attname FROM pg_attribute WHERE attrelid = 'cp2_fp'::regclass AND attnum > 0 AND NOT attisdropped
 ORDER BY attnum;
ALTER TABLE cp2_fc ADD FOREIGN KEY (pa) REFERENCES cp2_fp (_steward_old_a);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE cp2_fc ADD COLUMN pb int REFERENCES cp2_fp (_steward_old_b);
\echo :LAST_ERROR_SQLSTATE
-- Cleanup goes through and keeps every key that was made.
SELECT steward.migration_cleanup('cp2_fp_m');
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid = 'cp2_fc'::regclass AND contype = 'f' ORDER BY conname;
-- After the cleanup, a key to the migrated column is the user's business.
ALTER TABLE cp2_fc ADD FOREIGN KEY (pa) REFERENCES cp2_fp (a2);
DROP TABLE cp2_fc, cp2_fp;

-- The backstop (2BP01 naming each key, before anything is dropped): a
-- drop_column's column referenced at start (start went on, and cleanup
-- failed raw); a key to the new column, which a rollback drops, and a key
-- to the old column, each made around the guard (a superuser).
CREATE TABLE cp2_dp (id int PRIMARY KEY, a int UNIQUE, b int UNIQUE) USING steward;
INSERT INTO cp2_dp SELECT g, g, g FROM generate_series(1, 5) g;
CREATE TABLE cp2_dc (id int PRIMARY KEY, pb int REFERENCES cp2_dp (b));
SELECT steward.migration_start('cp2_dp_m', $$[{"drop_column": {"table": "cp2_dp", "column": "b"}}]$$);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'cp2_dp_m';
DROP TABLE cp2_dc;
SELECT steward.migration_start('cp2_dp_m', $$[{"alter_column": {"table": "cp2_dp", "column": "a", "name": "a2", "type": "bigint", "unique": true}}]$$);
CALL steward.migration_backfill('cp2_dp_m');
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
CREATE TABLE cp2_dc (id int PRIMARY KEY, pa2 bigint REFERENCES cp2_dp (a2));
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
SELECT steward.migration_rollback('cp2_dp_m');
\echo :LAST_ERROR_SQLSTATE
SELECT status FROM steward.migration_runs WHERE name = 'cp2_dp_m';
DROP TABLE cp2_dc;
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('cp2_dp_m');
SELECT steward.migration_complete('cp2_dp_m');
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
CREATE TABLE cp2_dc (id int PRIMARY KEY, pa int REFERENCES cp2_dp (_steward_old_a));
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
SELECT steward.migration_cleanup('cp2_dp_m');
\echo :LAST_ERROR_SQLSTATE
SELECT status FROM steward.migration_runs WHERE name = 'cp2_dp_m';
DROP TABLE cp2_dc;
SELECT steward.migration_cleanup('cp2_dp_m');
SELECT attname FROM pg_attribute WHERE attrelid = 'cp2_dp'::regclass AND attnum > 0 AND NOT attisdropped
 ORDER BY attnum;
DROP TABLE cp2_dp;

-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name LIKE 'cp2\_%';
\i test/sql/drop_migration_records.sql
