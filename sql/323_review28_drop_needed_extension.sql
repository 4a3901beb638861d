-- review28 R1: DROP EXTENSION plpgsql CASCADE dropped pg_steward (its
-- PL/pgSQL functions depend on language plpgsql, so core's CASCADE
-- reaches them and drops the whole extension) and with it every table
-- using the steward access method, rows included, and every steward_hash
-- constraint: the guard looked only at DROP EXTENSION pg_steward, DROP
-- SCHEMA steward, DROP ACCESS METHOD and DROP OWNED.  Now a drop of an
-- extension pg_steward needs is refused like DROP EXTENSION pg_steward.
-- Messages are shown by SQLSTATE and matched, since the list of user
-- objects depends on what earlier tests of the run left.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
CREATE TABLE r322_kept (id bigint PRIMARY KEY, version bigint, note text) USING steward;
INSERT INTO r322_kept VALUES (1, 1, 'kept');
CREATE TABLE r322_keys (k int, EXCLUDE USING steward_hash (k WITH =));
INSERT INTO r322_keys VALUES (42);
\set VERBOSITY sqlstate
BEGIN;
DROP EXTENSION plpgsql CASCADE;
ROLLBACK;
SELECT :'LAST_ERROR_MESSAGE' ~ '^DROP EXTENSION plpgsql would drop extension "pg_steward", and [0-9]+ user objects? depends? on it$' AS refused_by_guard;
-- Named after another extension, or without CASCADE: refused the same way.
BEGIN;
DROP EXTENSION IF EXISTS r322_none, plpgsql CASCADE;
ROLLBACK;
SELECT :'LAST_ERROR_MESSAGE' ~ '^DROP EXTENSION plpgsql would drop extension "pg_steward"' AS refused_by_guard;
BEGIN;
DROP EXTENSION plpgsql;
ROLLBACK;
SELECT :'LAST_ERROR_MESSAGE' ~ '^DROP EXTENSION plpgsql would drop extension "pg_steward"' AS refused_by_guard;
\set VERBOSITY default
-- Nothing was dropped.
SELECT * FROM r322_kept;
SELECT * FROM r322_keys;
SELECT extname FROM pg_extension WHERE extname IN ('pg_steward', 'plpgsql') ORDER BY 1;
-- An extension pg_steward does not need is not held back.
DROP EXTENSION IF EXISTS r322_none;
DROP TABLE r322_kept, r322_keys;
