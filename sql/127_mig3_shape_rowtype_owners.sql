-- review12 R12-3: objects bound to the row type of a view of a column
-- migration's shapes (a function RETURNS SETOF <mig>.<table>, a column of
-- that type or its array, a function argument) made cleanup and rollback
-- fail with core's raw "cannot drop view ... Use DROP ... CASCADE".  They
-- now refuse first, before any change, with 2BP01 naming each object and
-- the view whose row type it uses, as for views over the shapes.
-- R12-10: a column migration over tables of different owners failed
-- inside expand with a bare "permission denied for schema": start now
-- refuses it up front (0A000) naming the tables and their owners.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE m3_acct (id int PRIMARY KEY, name text, bal numeric) USING steward;
INSERT INTO m3_acct SELECT g, 'n' || g, g FROM generate_series(1, 20) g;
SELECT steward.migration_start('m3_acct_m', $$[{"alter_column": {"table": "m3_acct", "column": "name", "name": "label"}}]$$);
-- The guard refuses these when they are made (sql/124): a superuser goes
-- around it here, and rollback and cleanup still refuse.
ALTER EVENT TRIGGER steward_migration_shape_users DISABLE;
CREATE FUNCTION public.m3_f() RETURNS SETOF m3_acct_m.m3_acct LANGUAGE sql AS 'SELECT * FROM m3_acct_m.m3_acct';
CREATE TABLE m3_keep (id int, snap m3_acct_m_old.m3_acct[]);
INSERT INTO m3_keep SELECT 1, array_agg(a) FROM m3_acct_m_old.m3_acct a WHERE id <= 2;
CREATE FUNCTION public.m3_g(r m3_acct_m_old.m3_acct) RETURNS int LANGUAGE sql AS 'SELECT r.id';
CREATE VIEW m3_whole AS SELECT a FROM m3_acct_m.m3_acct a;
ALTER EVENT TRIGGER steward_migration_shape_users ENABLE ALWAYS;
SELECT steward.migration_rollback('m3_acct_m');
\echo :LAST_ERROR_SQLSTATE
-- nothing changed: the migration, its views and the objects are there
SELECT phase, status FROM steward.migration_runs WHERE name = 'm3_acct_m';
SELECT count(*) AS shape_views FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('m3_acct_m', 'm3_acct_m_old') AND c.relkind = 'v';
SELECT count(*) AS m3_f_rows FROM m3_f();
DROP VIEW m3_whole;
DROP FUNCTION m3_f();
CALL steward.migration_backfill('m3_acct_m');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('m3_acct_m');
SELECT steward.migration_complete('m3_acct_m');
SELECT steward.migration_cleanup('m3_acct_m');
\echo :LAST_ERROR_SQLSTATE
-- the HINT's ways out: drop the function, change the column's type
DROP FUNCTION m3_g(m3_acct_m_old.m3_acct);
ALTER TABLE m3_keep ALTER COLUMN snap TYPE jsonb USING to_jsonb(snap);
SELECT steward.migration_cleanup('m3_acct_m');
SELECT status FROM steward.migration_runs WHERE name = 'm3_acct_m';
SELECT snap FROM m3_keep;
SELECT count(*) AS shape_schemas FROM pg_namespace WHERE nspname IN ('m3_acct_m', 'm3_acct_m_old');
DROP TABLE m3_keep, m3_acct;

-- R12-10: tables of two owners, started by a superuser
CREATE ROLE m3_app1;
CREATE ROLE m3_app2;
SELECT format('GRANT CREATE ON DATABASE %I TO m3_app1, m3_app2', current_database()) \gexec
GRANT CREATE ON SCHEMA public TO m3_app1, m3_app2;
SET ROLE m3_app1;
CREATE TABLE m3_t1 (id int PRIMARY KEY, a int) USING steward;
SET ROLE m3_app2;
CREATE TABLE m3_t2 (id int PRIMARY KEY, a int) USING steward;
RESET ROLE;
CREATE TABLE m3_t3 (id int PRIMARY KEY, a int) USING steward;
SELECT steward.migration_start('m3_own_m', $$[{"alter_column": {"table": "m3_t1", "column": "a", "name": "a1"}},
    {"alter_column": {"table": "m3_t2", "column": "a", "name": "a2", "type": "bigint"}},
    {"alter_column": {"table": "m3_t3", "column": "a", "name": "a3"}}]$$);
\echo :LAST_ERROR_SQLSTATE
-- nothing was recorded or changed
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'm3_own_m';
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname IN ('m3_own_m', 'm3_own_m_old');
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'm3_t2'::regclass AND attnum > 0 AND NOT attisdropped;
-- an owner with the first owner's rights (a superuser's table here) can
-- create in its schemas: that migration starts and rolls back
SELECT steward.migration_start('m3_own_ok', $$[{"alter_column": {"table": "m3_t1", "column": "a", "name": "a1"}},
    {"alter_column": {"table": "m3_t3", "column": "a", "name": "a3", "type": "bigint"}}]$$);
INSERT INTO m3_own_ok.m3_t3 VALUES (1, 7);
SELECT id, a, a3 FROM m3_t3;
SELECT steward.migration_rollback('m3_own_ok');
-- one migration per owner, as the HINT says
SELECT steward.migration_start('m3_own_1', $$[{"alter_column": {"table": "m3_t1", "column": "a", "name": "a1"}}]$$);
SELECT steward.migration_start('m3_own_2', $$[{"alter_column": {"table": "m3_t2", "column": "a", "name": "a2", "type": "bigint"}}]$$);
SELECT nspname, nspowner::regrole FROM pg_namespace WHERE nspname LIKE 'm3\_own\__%' ORDER BY 1;
SELECT steward.migration_rollback('m3_own_1');
SELECT steward.migration_rollback('m3_own_2');
DROP TABLE m3_t1, m3_t2, m3_t3;
SELECT format('REVOKE CREATE ON DATABASE %I FROM m3_app1, m3_app2', current_database()) \gexec
REVOKE CREATE ON SCHEMA public FROM m3_app1, m3_app2;
DROP ROLE m3_app1;
DROP ROLE m3_app2;

-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name LIKE 'm3\_%';
\i test/sql/drop_migration_records.sql
