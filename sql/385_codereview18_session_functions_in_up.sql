-- codereview18 C1: an "up" (or a changed column's "down") reading a value
-- of the session passed migration_start when PostgreSQL marks its
-- function STABLE and session_function did not list it:
-- current_schemas() (the pinned search_path pg_catalog, pg_temp names the
-- session's own temporary schema, pg_temp_N, once it has one),
-- pg_client_encoding() (the writer's client_encoding), pg_conf_load_time()
-- (each backend's last reload) and pg_postmaster_start_time() (another
-- value after a restart between the backfill and validation).  The
-- dual-write trigger evaluates up in each writer's session, the backfill
-- and validation in theirs, so every row another session wrote differed
-- and validation failed after the whole backfill, as codereview17 C3
-- found for pg_backend_pid() and pg_my_temp_schema().  Now refused at
-- start (22023), as those are.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

-- The functions are STABLE (VOLATILE ones were refused already).
SELECT proname, provolatile FROM pg_proc
 WHERE oid IN ('pg_catalog.current_schemas(boolean)'::regprocedure,
               'pg_catalog.pg_client_encoding()'::regprocedure,
               'pg_catalog.pg_conf_load_time()'::regprocedure,
               'pg_catalog.pg_postmaster_start_time()'::regprocedure)
 ORDER BY proname;

-- What current_schemas() reads under the pinned search_path differs
-- between a session with a temporary schema and one without.
SET search_path = pg_catalog, pg_temp;
SELECT current_schemas(true)::text AS before_temp;
CREATE TEMP TABLE t385_tmp (x int);
SELECT current_schemas(true)::text ~ '^\{pg_catalog,pg_temp_[0-9]+\}$' AS after_temp_names_own_schema;
DROP TABLE t385_tmp;
RESET search_path;

CREATE TABLE s385 (id bigint PRIMARY KEY, v int) USING steward;
INSERT INTO s385 VALUES (1, 1);
SELECT steward.migration_start('s385_schemas', $$[
  {"add_column": {"table": "s385", "column": "w", "type": "text", "up": "current_schemas(true)::text"}}]$$);
SELECT steward.migration_start('s385_encoding', $$[
  {"add_column": {"table": "s385", "column": "w", "type": "text", "up": "pg_client_encoding() || v"}}]$$);
SELECT steward.migration_start('s385_reload', $$[
  {"add_column": {"table": "s385", "column": "w", "type": "timestamptz", "up": "pg_conf_load_time()"}}]$$);
SELECT steward.migration_start('s385_started', $$[
  {"add_column": {"table": "s385", "column": "w", "type": "timestamptz", "up": "pg_postmaster_start_time()"}}]$$);
-- A changed column's down is judged alike.
SELECT steward.migration_start('s385_down', $$[
  {"alter_column": {"table": "s385", "column": "v", "type": "text", "up": "v::text",
                    "down": "length(pg_client_encoding())"}}]$$);
-- Nothing was started.
SELECT count(*) AS started FROM steward.migrations WHERE name LIKE 's385%';
-- A function of the row only is still accepted.
SELECT steward.migration_start('s385_ok', $$[
  {"add_column": {"table": "s385", "column": "w", "type": "text", "up": "upper(v::text)"}}]$$);
SELECT steward.migration_rollback('s385_ok');
DROP TABLE s385;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('s385_ok');
\i test/sql/drop_migration_records.sql
