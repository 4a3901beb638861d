-- The internal helpers of migrations that open a relation the caller names
-- (steward._migration_sql, steward._relayout_exec) are executable by
-- PUBLIC, like the rest of the migration API, and serve only whoever may
-- run that table's migrations: its owner, a member of the owner's role, a
-- superuser.  Anyone else - SELECT on the table or not - gets 42501 with a
-- HINT before anything about the table is read.  A migration driven by a
-- member of the owner's role still runs from start to cleanup.
SET client_min_messages = warning;
CREATE ROLE ms_owner;
CREATE ROLE ms_member IN ROLE ms_owner;
CREATE ROLE ms_reader;
CREATE ROLE ms_stranger;
SELECT format('GRANT CREATE ON DATABASE %I TO ms_owner', current_database()) \gexec
CREATE SCHEMA ms AUTHORIZATION ms_owner;
SET ROLE ms_owner;
CREATE TABLE ms.prices (id int PRIMARY KEY, price int NOT NULL) USING steward;
INSERT INTO ms.prices SELECT g, g * 3 FROM generate_series(1, 10) g;
GRANT USAGE ON SCHEMA ms TO ms_reader, ms_stranger;
GRANT SELECT ON ms.prices TO ms_reader;
RESET ROLE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- Refused, whether or not the role may read the table.
SET ROLE ms_stranger;
SELECT steward._migration_sql('ms.prices'::regclass, '($1 * 100)', '{price}', '{price}', 'bigint');
SELECT steward._relayout_exec('ms.prices'::regclass, 'SELECT 1');
SET ROLE ms_reader;
SELECT steward._migration_sql('ms.prices'::regclass, '($1 * 100)', '{price}', '{price}', 'bigint');
\echo :LAST_ERROR_SQLSTATE
-- A relation that does not exist is still 42P01.
SELECT steward._migration_sql(0::regclass, '1', '{}', '{}', NULL);
RESET ROLE;

-- The owner, a member of its role and a superuser are served.
SET ROLE ms_owner;
SELECT steward._migration_sql('ms.prices'::regclass, '($1 * 100)', '{price}', '{price}', 'bigint');
SET ROLE ms_member;
SELECT steward._migration_sql('ms.prices'::regclass, '($1 * 100)', '{price}', '{price}', 'bigint');
RESET ROLE;
SELECT steward._migration_sql('ms.prices'::regclass, '($1 * 100)', '{price}', '{price}', 'bigint');

-- A member of the owner's role runs a whole migration: its backfill and
-- validation bind the expressions through steward._migration_sql.
SET ROLE ms_member;
SELECT steward.migration_start('ms_cents', $$[
  {"add_column": {"table": "ms.prices", "column": "cents", "type": "bigint",
                  "up": "price * 100", "not_null": true}}]$$);
CALL steward.migration_backfill('ms_cents');
SELECT "check", passed FROM steward.migration_validate('ms_cents') ORDER BY 1;
SELECT steward.migration_complete('ms_cents');
SELECT steward.migration_cleanup('ms_cents');
SELECT name, phase FROM steward.migrations WHERE name = 'ms_cents';
SELECT sum(cents) = 100 * sum(price) AS backfilled FROM ms.prices;
RESET ROLE;

SET client_min_messages = warning;
DROP SCHEMA ms CASCADE;
SELECT format('REVOKE CREATE ON DATABASE %I FROM ms_owner', current_database()) \gexec
DROP ROLE ms_owner, ms_member, ms_reader, ms_stranger;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('ms_cents');
\i test/sql/drop_migration_records.sql
