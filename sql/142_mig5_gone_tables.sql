-- A migration's table whose relation is gone though the record still has
-- it active (review14 R14-8: dropped unrecorded by a REPEATABLE READ
-- transaction before the fix, or an OID a restore bound to nothing): the
-- migration was stuck, rollback, backfill and validate failing with
-- 42P01 "relation with OID ... does not exist", and the other table kept
-- the migration's trigger and columns.  Now each step first takes the
-- table as dropped, as the sql_drop handler would have.  The handler is
-- switched off here to leave such a record.
\set SHOW_CONTEXT never
\set VERBOSITY terse
CREATE EXTENSION IF NOT EXISTS pg_steward;
CREATE TABLE gt1 (id int PRIMARY KEY, a int); INSERT INTO gt1 SELECT g, g FROM generate_series(1, 10) g;
CREATE TABLE gt2 (id int PRIMARY KEY, a int); INSERT INTO gt2 SELECT g, g FROM generate_series(1, 10) g;
CREATE TABLE gt3 (id int PRIMARY KEY, a int); INSERT INTO gt3 SELECT g, g FROM generate_series(1, 10) g;
SELECT steward.migration_start('gtm', '[{"alter_column": {"table": "gt1", "column": "a", "type": "bigint"}},
                                        {"alter_column": {"table": "gt2", "column": "a", "type": "bigint"}}]');
SELECT steward.migration_start('gtm3', '[{"alter_column": {"table": "gt3", "column": "a", "type": "bigint"}}]');
ALTER EVENT TRIGGER steward_migrations_drop DISABLE;
ALTER EVENT TRIGGER steward_migrations_drop_snapshot DISABLE;
DROP TABLE gt1 CASCADE;
DROP TABLE gt3 CASCADE;
ALTER EVENT TRIGGER steward_migrations_drop ENABLE ALWAYS;
ALTER EVENT TRIGGER steward_migrations_drop_snapshot ENABLE ALWAYS;
SELECT migration, ord, relid IS NULL AS relid_null, active FROM steward.migration_tables
 WHERE migration IN ('gtm', 'gtm3') ORDER BY 1, 2;
-- Only pg_steward's migration functions may settle a record.
SELECT steward._migration_settle_dropped('gtm');
-- backfill and validate go on with the table that is left.
CALL steward.migration_backfill('gtm');
SELECT name, phase, result, error FROM steward.migrations WHERE name = 'gtm';
SELECT migration, ord, relid IS NULL AS relid_null, active FROM steward.migration_tables
 WHERE migration = 'gtm' ORDER BY 1, 2;
SELECT count(*) AS columns_of_gone_table FROM steward.migration_columns WHERE migration = 'gtm' AND relid IS NULL;
SELECT "check", passed FROM steward.migration_validate('gtm') ORDER BY 1;
SELECT steward.migration_rollback('gtm');
SELECT name, phase, result FROM steward.migrations WHERE name = 'gtm';
SELECT string_agg(attname, ',' ORDER BY attnum) AS gt2_cols FROM pg_attribute
 WHERE attrelid = 'gt2'::regclass AND attnum > 0 AND NOT attisdropped;
SELECT count(*) AS gt2_triggers FROM pg_trigger WHERE tgrelid = 'gt2'::regclass AND NOT tgisinternal;
ALTER TABLE gt2 ADD COLUMN q int;
-- A migration whose only table is gone: rollback ends it.
SELECT steward.migration_rollback('gtm3');
SELECT name, phase, result, error FROM steward.migrations WHERE name = 'gtm3';
SELECT count(*) AS shape_schemas FROM pg_namespace WHERE nspname IN ('gtm3', 'gtm3_old');
SELECT steward.migration_rollback('gtm3');
DROP TABLE gt2;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('gtm', 'gtm3');
\i test/sql/drop_migration_records.sql
