-- review37 S1: the stored expressions of a column migration (up, down,
-- check, default) are written by whoever starts it, the table's owner as
-- a rule, and were bound again (steward._migration_sql) by whoever runs
-- its later steps, often a superuser, with that role's rights.  Parse
-- analysis runs code of the types an expression names: a literal's input
-- function, and '{1}'::d[] runs the CHECK of the owner's domain d through
-- domain_in.  So the owner's function ran as the superuser running
-- migration_backfill, migration_validate, migration_complete or
-- migration_rollback (and could, for one, make its owner a superuser).
-- Now the binding runs as the table's owner, restricted.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r425_owner;
SELECT format('GRANT CREATE ON DATABASE %I TO r425_owner', current_database()) \gexec
CREATE SCHEMA s425 AUTHORIZATION r425_owner;
SET ROLE r425_owner;
-- Who ran the owner's code: a row per call of its domain's CHECK.
CREATE TABLE s425.ran (who name, super boolean);
CREATE FUNCTION s425.note(x int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO s425.ran
    SELECT current_user, r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user;
    RETURN true;
END $$;
CREATE DOMAIN s425.d AS int CHECK (s425.note(VALUE));
CREATE TABLE s425.t (id int PRIMARY KEY, x int);
INSERT INTO s425.t SELECT g, g FROM generate_series(1, 3) g;
-- 1. add_column: up, check and default all name the domain.
SELECT steward.migration_start('m425', $j$[
  {"add_column": {"table": "s425.t", "column": "y", "type": "int",
                  "up": "CASE WHEN '{7}'::s425.d[] IS NOT NULL THEN x END",
                  "check": "y IS NULL OR '{8}'::s425.d[] IS NOT NULL",
                  "default": "coalesce(('{9}'::s425.d[])[1], 0)"}}
]$j$);
TRUNCATE s425.ran;
RESET ROLE;
-- The later steps, as a superuser.
CALL steward.migration_backfill('m425');
SELECT steward.migration_validate('m425');
SELECT steward.migration_complete('m425');
SELECT steward.migration_cleanup('m425');
-- The owner's code ran, as its owner only.
SELECT count(*) > 0 AS ran, count(*) FILTER (WHERE who <> 'r425_owner') AS as_another_role,
       count(*) FILTER (WHERE super) AS as_superuser
  FROM s425.ran;
SELECT id, x, y FROM s425.t ORDER BY id;
-- 2. alter_column with up and down, rolled back by the superuser.
SET ROLE r425_owner;
SELECT steward.migration_start('m425b', $j$[
  {"alter_column": {"table": "s425.t", "column": "x", "type": "bigint",
                    "up": "CASE WHEN '{1}'::s425.d[] IS NOT NULL THEN x END",
                    "down": "CASE WHEN '{2}'::s425.d[] IS NOT NULL THEN x END"}}
]$j$);
TRUNCATE s425.ran;
RESET ROLE;
CALL steward.migration_backfill('m425b');
SELECT steward.migration_validate('m425b');
SELECT steward.migration_rollback('m425b');
SELECT count(*) > 0 AS ran, count(*) FILTER (WHERE who <> 'r425_owner') AS as_another_role,
       count(*) FILTER (WHERE super) AS as_superuser
  FROM s425.ran;
SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) AS x_type
  FROM pg_attribute a WHERE a.attrelid = 's425.t'::regclass AND a.attname = 'x';

SET client_min_messages = warning;
DROP SCHEMA s425 CASCADE;
RESET client_min_messages;
SELECT format('REVOKE CREATE ON DATABASE %I FROM r425_owner', current_database()) \gexec
DROP ROLE r425_owner;

-- This file's migration records go (465_zz_leftovers).
CREATE TEMP TABLE gone (name) AS VALUES ('m425'), ('m425b');
\i test/sql/drop_migration_records.sql
