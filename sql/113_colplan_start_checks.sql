-- recheck10 N6: a column migration makes its shapes' schemas as the
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

-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name LIKE 'cp\_%';
DELETE FROM steward.migration_validations WHERE migration IN (SELECT name FROM gone);
DELETE FROM steward.migration_columns WHERE migration IN (SELECT name FROM gone);
DELETE FROM steward.migration_tables WHERE migration IN (SELECT name FROM gone);
DELETE FROM steward.migration_indexes WHERE migration IN (SELECT name FROM gone);
DELETE FROM steward.migration_runs WHERE name IN (SELECT name FROM gone);
DROP TABLE gone;
DROP ROLE cp_alice;
