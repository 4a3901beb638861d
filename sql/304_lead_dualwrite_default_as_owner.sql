-- review26 R7's check of a column migration's INSERT (1565726) folded the
-- old column's default, to tell a written value from the default, as the
-- inserting role: the default is the table owner's code (its immutable
-- functions run when folded), and an INSERT that gives the column a value
-- never runs it in PostgreSQL, so a superuser's INSERT ran the owner's
-- function with the superuser's rights.  It is now folded as the owner,
-- with search_path pinned, as up and down are.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r304_owner;
CREATE SCHEMA r304 AUTHORIZATION r304_owner;
SELECT format('GRANT CREATE ON DATABASE %I TO r304_owner', current_database()) \gexec
SET ROLE r304_owner;
CREATE FUNCTION r304.zero() RETURNS numeric LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RAISE NOTICE 'zero() runs as %', current_user;
    RETURN 0;
END $$;
CREATE TABLE r304.inv (id int PRIMARY KEY, amt numeric(12,2) DEFAULT r304.zero()) USING steward;
INSERT INTO r304.inv VALUES (1, 1.25);
SELECT steward.migration_start('r304_m', $$[
  {"alter_column": {"table": "r304.inv", "column": "amt", "name": "cents", "type": "bigint",
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}}
]$$) IS NOT NULL AS started;
RESET ROLE;
-- A superuser's INSERT naming both shapes: the default is folded as the
-- owner (before: "zero() runs as" the superuser).
INSERT INTO r304.inv (id, amt, cents) VALUES (2, 2.50, 250);
SELECT id, amt, cents FROM r304.inv ORDER BY id;
SELECT steward.migration_rollback('r304_m');
DROP SCHEMA r304 CASCADE;
SELECT format('REVOKE CREATE ON DATABASE %I FROM r304_owner', current_database()) \gexec
DROP ROLE r304_owner;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r304_m');
\i test/sql/drop_migration_records.sql
