-- Complete, cleanup and rollback refuse a REPEATABLE READ or SERIALIZABLE
-- transaction (25000), as start does (review13 R13-5): they read the
-- tables' catalog with SQL in the transaction's snapshot, and complete
-- lost a column grant made after it.  Nothing changes; READ COMMITTED
-- goes on.
CREATE TABLE snap_cg (id int PRIMARY KEY, a int, b int);
INSERT INTO snap_cg SELECT g, g, g FROM generate_series(1, 5) g;
SELECT steward.migration_start('snap_cgm', '[{"alter_column": {"table": "snap_cg", "column": "a", "type": "bigint"}}]');
CALL steward.migration_backfill('snap_cgm');
SELECT bool_and(passed) AS passed FROM steward.migration_validate('snap_cgm');

BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT steward.migration_complete('snap_cgm');
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT steward.migration_rollback('snap_cgm');
ROLLBACK;
SELECT phase, status FROM steward.migration_runs WHERE name = 'snap_cgm';

BEGIN ISOLATION LEVEL READ COMMITTED;
SELECT steward.migration_complete('snap_cgm');
COMMIT;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT steward.migration_cleanup('snap_cgm');
ROLLBACK;
SELECT phase, status FROM steward.migration_runs WHERE name = 'snap_cgm';
SELECT steward.migration_cleanup('snap_cgm');
SELECT phase, status FROM steward.migration_runs WHERE name = 'snap_cgm';

-- Migration names are kept for good: leave no record behind.
DROP TABLE snap_cg;
DELETE FROM steward.migration_validations WHERE migration = 'snap_cgm';
DELETE FROM steward.migration_columns WHERE migration = 'snap_cgm';
DELETE FROM steward.migration_tables WHERE migration = 'snap_cgm';
DELETE FROM steward.migration_runs WHERE name = 'snap_cgm';
