-- recheck10 N6 and N5: what a column migration needs and drops, said up
-- front.  N6: a column migration makes its shapes' schemas as the
-- table's owner, who needs CREATE on the database: start says so first
-- (42501 naming the role, with the GRANT to run), instead of failing
-- inside its expand with "permission denied for database".
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE cp_alice;
GRANT CREATE ON SCHEMA public TO cp_alice;
SET ROLE cp_alice;
CREATE TABLE cp_al (id int PRIMARY KEY, v int) USING steward;
INSERT INTO cp_al SELECT g, g FROM generate_series(1, 5) g;
SELECT steward.migration_start('cp_al_m', $$[{"alter_column": {"table": "cp_al", "column": "v", "type": "bigint"}}]$$);
\echo :LAST_ERROR_SQLSTATE
-- nothing was recorded or changed
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'cp_al_m';
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'cp_al'::regclass AND attnum > 0;
-- a superuser starting it makes the schemas as the owner too: same check
RESET ROLE;
SELECT steward.migration_start('cp_al_m', $$[{"alter_column": {"table": "cp_al", "column": "v", "type": "bigint"}}]$$);
\echo :LAST_ERROR_SQLSTATE
-- a relayout makes no schema: it starts
SET ROLE cp_alice;
SELECT steward.migration_start('cp_al_re', $$[{"relayout": {"table": "cp_al", "partition_by": "HASH (id)", "partitions": 2}}]$$);
SELECT steward.migration_rollback('cp_al_re');
-- with the grant the HINT names, the column migration starts
RESET ROLE;
SELECT format('GRANT CREATE ON DATABASE %I TO cp_alice', current_database()) \gexec
SET ROLE cp_alice;
SELECT steward.migration_start('cp_al_m', $$[{"alter_column": {"table": "cp_al", "column": "v", "type": "bigint"}}]$$);
SELECT nspname, nspowner::regrole FROM pg_namespace WHERE nspname IN ('cp_al_m', 'cp_al_m_old') ORDER BY 1;
SELECT steward.migration_rollback('cp_al_m');
RESET ROLE;
SELECT format('REVOKE CREATE ON DATABASE %I FROM cp_alice', current_database()) \gexec
DROP TABLE cp_al;
REVOKE CREATE ON SCHEMA public FROM cp_alice;

-- recheck10 N5: a plain index over a column the cleanup drops, created
-- after start, is said to go with it (a NOTICE at CREATE INDEX, as start
-- says of the ones it finds), with the build over the new column that
-- keeps it; indexes over other columns, or the new one, pass silently.
CREATE TABLE cp_ci (id int PRIMARY KEY, a int, b int) USING steward;
INSERT INTO cp_ci SELECT g, g, g FROM generate_series(1, 10) g;
CREATE INDEX cp_ci_pre ON cp_ci (a);
SELECT steward.migration_start('cp_ci_m', $$[{"alter_column": {"table": "cp_ci", "column": "a", "name": "a2", "type": "bigint"}}]$$);
CREATE INDEX cp_ci_inc ON cp_ci (id) INCLUDE (a);
CREATE INDEX cp_ci_expr ON cp_ci ((a + 1));
CREATE INDEX cp_ci_part ON cp_ci (b) WHERE a > 0;
CREATE INDEX ON cp_ci USING hash (a);
CREATE INDEX cp_ci_b ON cp_ci (b);
CREATE INDEX cp_ci_a2 ON cp_ci (a2);
CALL steward.migration_backfill('cp_ci_m');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('cp_ci_m');
SELECT steward.migration_complete('cp_ci_m');
-- after complete the old column is _steward_old_a, the new one a2
CREATE INDEX cp_ci_late ON cp_ci (a2, b);
SELECT steward.migration_cleanup('cp_ci_m');
SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid) LIKE '%a2%' AS on_new
  FROM pg_index WHERE indrelid = 'cp_ci'::regclass ORDER BY indexrelid::regclass::text;
DROP TABLE cp_ci;
-- a drop_column's column: the index goes with it (no new column to build on)
CREATE TABLE cp_cd (id int PRIMARY KEY, a int, b int) USING steward;
SELECT steward.migration_start('cp_cd_m', $$[{"drop_column": {"table": "cp_cd", "column": "b"}}]$$);
CREATE INDEX cp_cd_b ON cp_cd (b);
SELECT steward.migration_rollback('cp_cd_m');
DROP TABLE cp_cd;

-- recheck10 N12: a column migration plans in its own snapshot, which
-- under REPEATABLE READ (or SERIALIZABLE) is the transaction's: it would
-- not see an ALTER TABLE committed while start waited for its locks.
-- Refused there, a relayout too (its checks and apply trigger read the
-- table with SQL; isolation colplan2_relayout_rr).
CREATE TABLE cp_rr (id int PRIMARY KEY, a int) USING steward;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT steward.migration_start('cp_rr_m', $$[{"alter_column": {"table": "cp_rr", "column": "a", "type": "bigint"}}]$$);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT steward.migration_start('cp_rr_m', $$[{"add_column": {"table": "cp_rr", "column": "b", "type": "int"}}]$$);
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT steward.migration_start('cp_rr_re', $$[{"relayout": {"table": "cp_rr", "partition_by": "HASH (id)", "partitions": 2}}]$$);
ROLLBACK;
BEGIN;
SELECT steward.migration_start('cp_rr_m', $$[{"alter_column": {"table": "cp_rr", "column": "a", "type": "bigint"}}]$$);
SELECT phase FROM steward.migration_runs WHERE name = 'cp_rr_m';
ROLLBACK;
DROP TABLE cp_rr;

-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name LIKE 'cp\_%';
\i test/sql/drop_migration_records.sql
DROP ROLE cp_alice;
