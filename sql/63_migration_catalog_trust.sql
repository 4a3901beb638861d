-- The migration catalog's writer, steward._migration_record, is called by
-- the migration functions as their caller (so anyone may execute it) and
-- writes as the catalog's owner: it must check the caller against every
-- table the record names, and the rows must land in the migration it was
-- checked for.  A forged row would carry an expression that later runs as
-- the owner of another role's table (the dual-write trigger, the backfill).
CREATE ROLE mig_trust_owner;
CREATE ROLE mig_trust_stranger;
SELECT format('GRANT CREATE ON DATABASE %I TO mig_trust_owner', current_database()) \gexec
GRANT CREATE ON SCHEMA public TO mig_trust_stranger;
CREATE TABLE public.mig_trust_t (id bigint PRIMARY KEY, amt numeric NOT NULL) USING steward;
INSERT INTO mig_trust_t VALUES (1, 1.5);
ALTER TABLE mig_trust_t OWNER TO mig_trust_owner;
SELECT steward.migration_start('mig_trust', '[{"add_column": {"table": "mig_trust_t",
        "column": "note", "type": "text", "up": "''x''"}}]');
CREATE TABLE public.mig_trust_log (who text, what text);
GRANT INSERT ON mig_trust_log TO PUBLIC;

SET ROLE mig_trust_stranger;
CREATE FUNCTION public.mig_trust_evil() RETURNS numeric LANGUAGE sql
    AS $$ INSERT INTO public.mig_trust_log VALUES (current_user, 'evil'); SELECT 1::numeric $$;
CREATE TABLE public.mig_trust_mine (id bigint PRIMARY KEY);
-- A new migration of its own whose column row names another role's
-- table (and another migration): refused, the stranger does not own it.
\set VERBOSITY terse
SELECT steward._migration_record('create', 'mig_trust_forged', jsonb_build_object(
    'steps', '[]'::jsonb, 'tables', '[]'::jsonb,
    'column_rows', jsonb_build_array(jsonb_build_object(
        'migration', 'mig_trust', 'relid', 'public.mig_trust_t'::regclass::oid::text,
        'ord', 99, 'step', 1, 'kind', 'added', 'new_name', 'amt', 'expand_new', 'amt',
        'switched_new', 'amt', 'new_type', 'numeric',
        'up_sql', '(public.mig_trust_evil() + 1)', 'up_params', '{}'::text[]))));
-- The same through table_rows, and through a row's relid given by name.
SELECT steward._migration_record('create', 'mig_trust_forged', jsonb_build_object(
    'steps', '[]'::jsonb, 'tables', '[]'::jsonb,
    'table_rows', jsonb_build_array(jsonb_build_object(
        'relid', 'public.mig_trust_t'::regclass::oid, 'ord', 1, 'table_name', 'x',
        'relname', 'x', 'key_columns', '{id}'::name[], 'key_types', '{bigint}'::text[]))));
SELECT steward._migration_record('create', 'mig_trust_forged', jsonb_build_object(
    'steps', '[]'::jsonb, 'tables', '[]'::jsonb,
    'column_rows', jsonb_build_array(jsonb_build_object('relid', 'public.mig_trust_t'))));
-- A record of the existing migration.
SELECT steward._migration_record('update', 'mig_trust', '{"phase": "switched"}');
\set VERBOSITY default
RESET ROLE;

-- Nothing was written, nothing ran, and the owner's migration still works
-- with the expression its owner gave.
SELECT count(*) AS forged_runs FROM steward.migration_runs WHERE name = 'mig_trust_forged';
SELECT count(*) AS columns_of_mig_trust FROM steward.migration_columns WHERE migration = 'mig_trust';
SELECT phase FROM steward.migrations WHERE name = 'mig_trust';
CALL steward.migration_backfill('mig_trust');
INSERT INTO mig_trust_t (id, amt) VALUES (2, 2.5);
SELECT * FROM mig_trust_log;

-- A record of the caller's own table, written directly: refused too
-- (42501, only the migration functions write the catalog, sql/92), so
-- nothing says someone else started it.
SET ROLE mig_trust_stranger;
SELECT steward._migration_record('create', 'mig_trust_own', jsonb_build_object(
    'steps', '[]'::jsonb, 'started_by', 'postgres',
    'tables', jsonb_build_array('public.mig_trust_mine'::regclass::oid),
    'table_rows', jsonb_build_array(jsonb_build_object(
        'relid', 'public.mig_trust_mine'::regclass::oid, 'ord', 1, 'table_name', 'mig_trust_mine',
        'relname', 'mig_trust_mine', 'key_columns', '{id}'::name[], 'key_types', '{bigint}'::text[]))));
-- An index step that names another role's table.
\set VERBOSITY terse
SELECT steward._migration_record('index', 'mig_trust_own', jsonb_build_object(
    'step', 1, 'kind', 'create_index', 'relid', 'public.mig_trust_t'::regclass::oid,
    'index_name', 'i', 'statement', 'SELECT 1', 'migration', 'mig_trust'));
\set VERBOSITY default
RESET ROLE;
SELECT count(*) AS index_steps FROM steward.migration_indexes WHERE migration IN ('mig_trust', 'mig_trust_own');
SELECT started_by FROM steward.migration_runs WHERE name = 'mig_trust_own';
DELETE FROM steward.migration_tables WHERE migration = 'mig_trust_own';
DELETE FROM steward.migration_runs WHERE name = 'mig_trust_own';

-- migration_start resolves the user's table names under the user's
-- search_path; a to_regclass or set_config of a schema listed before
-- pg_catalog must not run (here it would run as the superuser).
SET ROLE mig_trust_stranger;
CREATE FUNCTION public.to_regclass(text) RETURNS regclass LANGUAGE sql
    AS $$ INSERT INTO public.mig_trust_log VALUES (current_user, 'to_regclass'); SELECT NULL::regclass $$;
CREATE FUNCTION public.set_config(text, text, boolean) RETURNS text LANGUAGE sql
    AS $$ INSERT INTO public.mig_trust_log VALUES (current_user, 'set_config'); SELECT NULL::text $$;
RESET ROLE;
CREATE TABLE public.mig_trust_s (id bigint PRIMARY KEY, n int NOT NULL) USING steward;
SET search_path = public, pg_catalog;
SELECT steward.migration_start('mig_trust_path', '[{"add_column": {"table": "mig_trust_s",
        "column": "note", "type": "text", "up": "''x''"}}]');
RESET search_path;
SELECT * FROM mig_trust_log;
SELECT phase FROM steward.migrations WHERE name = 'mig_trust_path';

-- track_versions and attach_state_machine read the catalogs (views on the
-- table) under the caller's search_path too: an operator "=" on oid in a
-- schema listed first must not run either.
SET ROLE mig_trust_stranger;
CREATE FUNCTION public.mig_trust_oideq(oid, oid) RETURNS boolean LANGUAGE sql
    AS $$ INSERT INTO public.mig_trust_log VALUES (current_user, 'oid ='); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = public.mig_trust_oideq);
CREATE OPERATOR public.<> (LEFTARG = oid, RIGHTARG = oid, FUNCTION = public.mig_trust_oideq);
RESET ROLE;
CREATE TABLE public.mig_trust_v (id bigint PRIMARY KEY, v bigint, status text NOT NULL) USING steward;
CREATE VIEW public.mig_trust_vw AS SELECT * FROM public.mig_trust_v;
SET search_path = public, pg_catalog;
SELECT steward.track_versions('mig_trust_v', 'v');
SELECT steward.attach_state_machine('mig_trust_v', 'status', 'data_lifecycle');
RESET search_path;
SELECT * FROM mig_trust_log;
DROP VIEW mig_trust_vw;
DROP TABLE mig_trust_v;
DROP OPERATOR public.= (oid, oid);
DROP OPERATOR public.<> (oid, oid);
DROP FUNCTION public.mig_trust_oideq(oid, oid);

SELECT steward.migration_rollback('mig_trust_path');
SELECT steward.migration_rollback('mig_trust');
DROP TABLE mig_trust_s, mig_trust_t, mig_trust_mine, mig_trust_log;
DROP FUNCTION public.to_regclass(text), public.set_config(text, text, boolean), public.mig_trust_evil();
REVOKE CREATE ON SCHEMA public FROM mig_trust_stranger;
SELECT format('REVOKE CREATE ON DATABASE %I FROM mig_trust_owner', current_database()) \gexec
DROP ROLE mig_trust_owner, mig_trust_stranger;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('mig_trust'), ('mig_trust_path');
\i test/sql/drop_migration_records.sql
