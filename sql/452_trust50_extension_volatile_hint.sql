-- trust50: an up calling a VOLATILE function of an extension was refused
-- (22023) with the HINT "declare it so: ALTER FUNCTION f STABLE", which
-- only the extension's owner could run, and which the extension's next
-- update would undo.  Now the HINT says whose function it is and offers a
-- function of the user's own declared STABLE around it, or another
-- expression; a cast of an extension's says so too.  The check reads the
-- declared volatility only: the STABLE wrapper the HINT offers passes,
-- whatever it calls, so a wrapper around a function that varies starts
-- and then fails validation (docs/migrations.md).
\set SHOW_CONTEXT never
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
RESET client_min_messages;

CREATE SCHEMA s452;
CREATE TABLE s452.t (id bigint PRIMARY KEY, v int) USING steward;
INSERT INTO s452.t SELECT g, g FROM generate_series(1, 3) g;
SET search_path = s452, public;

-- pgcrypto's gen_salt(text) is declared VOLATILE: no ALTER FUNCTION in
-- the HINT.
SELECT p.provolatile FROM pg_proc p WHERE p.oid = 'public.gen_salt(text)'::regprocedure;
SELECT steward.migration_start('m452_ext', $$[
  {"add_column": {"table": "t", "column": "s", "type": "text", "up": "gen_salt('md5') || v"}}]$$);

-- A cast whose function an extension holds (added to pgcrypto here):
-- the message says it is the cast, the HINT whose it is.
CREATE TYPE s452.cents AS (amount bigint);
CREATE FUNCTION s452.to_cents(int) RETURNS s452.cents LANGUAGE sql
    AS 'SELECT ROW($1::bigint * 100)::s452.cents';
CREATE CAST (int AS s452.cents) WITH FUNCTION s452.to_cents(int);
ALTER EXTENSION pgcrypto ADD FUNCTION s452.to_cents(int);
SELECT steward.migration_start('m452_ext_cast', $$[
  {"add_column": {"table": "t", "column": "c", "type": "s452.cents", "up": "v::cents"}}]$$);
ALTER EXTENSION pgcrypto DROP FUNCTION s452.to_cents(int);
SELECT count(*) AS started FROM steward.migrations WHERE name LIKE 'm452%';

-- The HINT's wrapper, declared STABLE, is taken at its word: start
-- accepts it though gen_salt gives another salt at each call, and
-- validation finds the rows differ.
CREATE FUNCTION s452.salted(int) RETURNS text LANGUAGE sql STABLE
    AS $$SELECT public.gen_salt('md5') || $1$$;
SELECT steward.migration_start('m452_wrapped', $$[
  {"add_column": {"table": "t", "column": "s", "type": "text", "up": "salted(v)"}}]$$) IS NOT NULL AS started;
CALL steward.migration_backfill('m452_wrapped');
SELECT "check", passed FROM steward.migration_validate('m452_wrapped') ORDER BY "check";
SELECT steward.migration_rollback('m452_wrapped');

RESET search_path;
DROP SCHEMA s452 CASCADE;
DROP EXTENSION pgcrypto;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m452_wrapped');
\i test/sql/drop_migration_records.sql
