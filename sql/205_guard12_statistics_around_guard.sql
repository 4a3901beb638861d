-- closing38 item 5 (guard12): extended statistics made around the DDL
-- guard (a superuser with its event trigger disabled) that a cleanup or a
-- rollback would drop: the guard refuses to make them there (sql/192),
-- and the drop took them without a word (an AUTO dependency).  Now the
-- cleanup or rollback refuses (2BP01) naming them, as for sequences
-- OWNED BY such a column (sql/192 part 3):
-- 1. relayout, rollback before complete: statistics on a partition of the
--    new layout; 2. the same after complete (the table's partitions are
--    the new layout's, which the rollback drops);
-- 3. column migration, rollback before complete: statistics over the new
--    column or over _steward_side; 4. after complete: over the new column
--    under its final name; 5. cleanup: over _steward_side;
-- 6. not refused: statistics over columns that stay, and over an old
--    column at cleanup (start's NOTICE names those made before it as
--    what the cleanup drops; one made since cannot be told from them).
-- The table's owner is not a superuser.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS g12s_app;
RESET client_min_messages;
SET steward.governor = off;
CREATE ROLE g12s_app;
GRANT CREATE ON SCHEMA public TO g12s_app;
SELECT format('GRANT CREATE ON DATABASE %I TO g12s_app', current_database()) \gexec
SET ROLE g12s_app;

-- 1. relayout, rollback before complete
CREATE TABLE g12s_so(id bigint PRIMARY KEY, uid bigint, amt int) USING steward;
INSERT INTO g12s_so SELECT g, g % 7, g FROM generate_series(1, 100) g;
CREATE STATISTICS g12s_st_tab ON uid, amt FROM g12s_so;
SELECT steward.migration_start('g12s_rm', $$[{"relayout": {"table": "g12s_so", "partition_by": "HASH (id)", "partitions": 2}}]$$);
RESET ROLE;
ALTER EVENT TRIGGER steward_migration_shape_users DISABLE;   -- a superuser around the guard
CREATE STATISTICS g12s_st_part ON uid, amt FROM g12s_so_p0;
ALTER EVENT TRIGGER steward_migration_shape_users ENABLE ALWAYS;
SET ROLE g12s_app;
SELECT steward.migration_rollback('g12s_rm');    -- refused, naming it
\echo :LAST_ERROR_SQLSTATE
SELECT stxname FROM pg_statistic_ext WHERE stxname = 'g12s_st_part';
RESET ROLE;
DROP STATISTICS g12s_st_part;
SET ROLE g12s_app;
SELECT steward.migration_rollback('g12s_rm');
SELECT stxname, stxrelid::regclass FROM pg_statistic_ext WHERE stxname LIKE 'g12s\_%' ORDER BY 1;

-- 2. relayout, rollback after complete
SELECT steward.migration_start('g12s_rm2', $$[{"relayout": {"table": "g12s_so", "partition_by": "HASH (id)", "partitions": 2}}]$$);
CALL steward.migration_backfill('g12s_rm2');
SELECT count(*) AS failed FROM steward.migration_validate('g12s_rm2') WHERE NOT passed;
SELECT steward.migration_complete('g12s_rm2');
RESET ROLE;
ALTER EVENT TRIGGER steward_migration_shape_users DISABLE;
CREATE STATISTICS g12s_st_part2 ON uid, amt FROM g12s_so_p1;   -- a partition of the table (the new layout)
ALTER EVENT TRIGGER steward_migration_shape_users ENABLE ALWAYS;
SET ROLE g12s_app;
SELECT steward.migration_rollback('g12s_rm2');   -- refused, naming it
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP STATISTICS g12s_st_part2;
SET ROLE g12s_app;
SELECT steward.migration_rollback('g12s_rm2');
SELECT relkind FROM pg_class WHERE oid = 'g12s_so'::regclass;

-- 3. column migration, rollback before complete
CREATE TABLE g12s_inv(id int PRIMARY KEY, amt int, k int) USING steward;
INSERT INTO g12s_inv SELECT g, g, g % 3 FROM generate_series(1, 5) g;
SELECT steward.migration_start('g12s_cm', $$[{"alter_column": {"table": "g12s_inv", "column": "amt", "name": "amt2", "type": "bigint"}},
                                             {"add_column": {"table": "g12s_inv", "column": "tag", "type": "int", "up": "k + 1"}}]$$);
RESET ROLE;
ALTER EVENT TRIGGER steward_migration_shape_users DISABLE;
CREATE STATISTICS g12s_cst_new ON k, amt2 FROM g12s_inv;      -- the rollback drops amt2
CREATE STATISTICS g12s_cst_side ON k, _steward_side FROM g12s_inv;
CREATE STATISTICS g12s_cst_tag ON (tag + k) FROM g12s_inv;     -- an expression over the added column
CREATE STATISTICS g12s_cst_stays ON id, k FROM g12s_inv;       -- columns that stay: not refused
ALTER EVENT TRIGGER steward_migration_shape_users ENABLE ALWAYS;
SET ROLE g12s_app;
SELECT steward.migration_rollback('g12s_cm');    -- refused, naming the three
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP STATISTICS g12s_cst_new, g12s_cst_side, g12s_cst_tag;
SET ROLE g12s_app;
SELECT steward.migration_rollback('g12s_cm');
SELECT stxname FROM pg_statistic_ext WHERE stxrelid = 'g12s_inv'::regclass ORDER BY 1;

-- 4. column migration, rollback after complete; 5. cleanup
SELECT steward.migration_start('g12s_cm2', $$[{"alter_column": {"table": "g12s_inv", "column": "amt", "name": "amt2", "type": "bigint"}}]$$);
CALL steward.migration_backfill('g12s_cm2');
SELECT count(*) AS failed FROM steward.migration_validate('g12s_cm2') WHERE NOT passed;
SELECT steward.migration_complete('g12s_cm2');
RESET ROLE;
ALTER EVENT TRIGGER steward_migration_shape_users DISABLE;
CREATE STATISTICS g12s_cst_final ON k, amt2 FROM g12s_inv;    -- the new column, final name
CREATE STATISTICS g12s_cst_side2 ON id, _steward_side FROM g12s_inv;
CREATE STATISTICS g12s_cst_old ON k, _steward_old_amt FROM g12s_inv;   -- an old column
ALTER EVENT TRIGGER steward_migration_shape_users ENABLE ALWAYS;
SET ROLE g12s_app;
SELECT steward.migration_rollback('g12s_cm2');   -- refused, naming amt2's and _steward_side's
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_cleanup('g12s_cm2');    -- refused, naming _steward_side's
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP STATISTICS g12s_cst_side2;
SET ROLE g12s_app;
SELECT steward.migration_cleanup('g12s_cm2');    -- the old column's goes with it (6.)
SELECT stxname FROM pg_statistic_ext WHERE stxrelid = 'g12s_inv'::regclass ORDER BY 1;
SELECT current_user;

RESET ROLE;
DROP TABLE g12s_so, g12s_inv;
REVOKE CREATE ON SCHEMA public FROM g12s_app;
SELECT format('REVOKE CREATE ON DATABASE %I FROM g12s_app', current_database()) \gexec
DROP ROLE g12s_app;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name LIKE 'g12s\_%';
\i test/sql/drop_migration_records.sql
