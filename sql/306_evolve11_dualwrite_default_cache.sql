-- A column migration's check of an INSERT naming both shapes folds the
-- old column's default, as the table's owner, to tell a written value
-- from the default (1565726, e5e792e).  It folded it for every row: a
-- GUC nest level, a parse of the stored default and a fold per row.  The
-- folded default is now kept with the trigger's cached entry of the
-- table: folded once, as the owner, and again after the table's relcache
-- is invalidated (any DDL on it) or any function changes (a redefined
-- immutable function may fold to another value).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r306_owner;
CREATE SCHEMA r306 AUTHORIZATION r306_owner;
SELECT format('GRANT CREATE ON DATABASE %I TO r306_owner', current_database()) \gexec
SET ROLE r306_owner;
CREATE FUNCTION r306.zero() RETURNS numeric LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RAISE NOTICE 'zero() folded as %', current_user;
    RETURN 0;
END $$;
CREATE TABLE r306.inv (id int PRIMARY KEY, amt numeric(12,2) DEFAULT r306.zero()) USING steward;
INSERT INTO r306.inv VALUES (1, 1.25);
SELECT steward.migration_start('r306_m', $$[
  {"alter_column": {"table": "r306.inv", "column": "amt", "name": "cents", "type": "bigint",
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}}
]$$) IS NOT NULL AS started;
RESET ROLE;
-- Three rows naming both shapes, then two more statements: one fold, as
-- the owner (before: a NOTICE for every row).
INSERT INTO r306.inv (id, amt, cents) SELECT g, g, g * 100 FROM generate_series(2, 4) g;
INSERT INTO r306.inv (id, amt, cents) VALUES (5, 5, 500);
INSERT INTO r306.inv (id, amt, cents) VALUES (6, 6, 600);
-- The default's value counts as not written: the new shape wins.
INSERT INTO r306.inv (id, amt, cents) VALUES (7, 0, 999);
-- Another value that disagrees with down(cents) is refused.
INSERT INTO r306.inv (id, amt, cents) VALUES (8, 1, 999);
-- The function folds to another value now: folded again, once.
SET ROLE r306_owner;
CREATE OR REPLACE FUNCTION r306.zero() RETURNS numeric LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RAISE NOTICE 'zero() folded as % to 3', current_user;
    RETURN 3;
END $$;
RESET ROLE;
INSERT INTO r306.inv (id, amt, cents) VALUES (9, 3, 999), (10, 3, 1000);
-- 0 is no longer the default's value: written, and refused.
INSERT INTO r306.inv (id, amt, cents) VALUES (11, 0, 999);
-- A new default is refused while the migration changes the column
-- (and any DDL that is allowed invalidates the table's relcache, which
-- drops the trigger's entry with its folded defaults): a function's new
-- definition is the one way the default folds to another value.
SET ROLE r306_owner;
ALTER TABLE r306.inv ALTER COLUMN amt SET DEFAULT 4;
RESET ROLE;
INSERT INTO r306.inv (id, amt, cents) VALUES (12, 4, 999);
INSERT INTO r306.inv (id, amt, cents) VALUES (13, 3, 999);
SELECT id, amt, cents FROM r306.inv ORDER BY id;
SELECT steward.migration_rollback('r306_m');
DROP SCHEMA r306 CASCADE;
SELECT format('REVOKE CREATE ON DATABASE %I FROM r306_owner', current_database()) \gexec
DROP ROLE r306_owner;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r306_m');
\i test/sql/drop_migration_records.sql
