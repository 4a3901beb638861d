-- Internal functions reached from a table owner's code running inside a
-- pg_steward statement (review13 R13-8, R13-9): run_transition's set_sql
-- calls them while pg_steward's PL/pgSQL functions are on the stack.
-- * steward._migration_lock_related locks only a view on the table or a
--   table whose foreign key references it (42501 otherwise): a role with
--   no grant held ACCESS EXCLUSIVE on pg_authid (every login of the
--   cluster waited), steward.idempotency_keys, another tenant's table.
-- * steward._migration_record checks that the caller owns release_relid
--   (42501): its repoint moved another tenant's migration records onto
--   the caller's table, whose live migration then completed unmigrated.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE tr_app1;
CREATE ROLE tr_app2;
GRANT CREATE ON SCHEMA public TO tr_app1, tr_app2;
SELECT format('GRANT CREATE ON DATABASE %I TO tr_app1, tr_app2', current_database()) \gexec

-- app2's migrations and tables.
SET ROLE tr_app2;
CREATE TABLE tr_t2sec (id int PRIMARY KEY, amount int);
INSERT INTO tr_t2sec SELECT g, g FROM generate_series(1,10) g;
SELECT steward.migration_start('tr_app2secret', '[{"alter_column": {"table": "tr_t2sec", "column": "amount", "type": "bigint", "up": "amount * 42 /* api_key=SECRET-app2 */"}}]');
SELECT steward.migration_rollback('tr_app2secret');
CREATE TABLE tr_t2b (id int PRIMARY KEY, amount int);
INSERT INTO tr_t2b SELECT g, g FROM generate_series(1,10) g;
SELECT steward.migration_start('tr_app2live', '[{"alter_column": {"table": "tr_t2b", "column": "amount", "name": "cents", "type": "bigint", "up": "amount * 100", "down": "cents / 100"}}]');
CREATE TABLE tr_other (id int PRIMARY KEY);
RESET ROLE;

-- app1: a state machine's table, and a migration of its own.
SET ROLE tr_app1;
SELECT steward.create_state_machine('tr_m1', states => ARRAY['a','b'], initial => ARRAY['a'], transitions => ARRAY['a->b']);
CREATE TABLE tr_sm1 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'a', note text) USING steward;
SELECT steward.attach_state_machine('tr_sm1', 'st', 'tr_m1');
INSERT INTO tr_sm1 SELECT g FROM generate_series(1,10) g;
CREATE TABLE tr_cg (id int PRIMARY KEY, v int);
INSERT INTO tr_cg SELECT g, g FROM generate_series(1,5) g;
SELECT steward.migration_start('tr_cgm', '[{"alter_column": {"table": "tr_cg", "column": "v", "type": "bigint", "up": "v"}}]');
CREATE VIEW tr_cg_view AS SELECT id FROM tr_cg;

-- R13-8, the review's input: the lock of pg_authid from set_sql.
CREATE FUNCTION public.tr_lk(rel regclass) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM steward._migration_lock_related('public.tr_sm1', rel);
  RAISE NOTICE 'holding %: %', rel,
    EXISTS (SELECT 1 FROM pg_locks l WHERE l.relation = rel AND l.mode = 'AccessExclusiveLock'
                                       AND l.pid = pg_backend_pid());
  RETURN 'b'; END $$;
CALL steward.run_transition('tr_sm1', 'a', 'b', $$note = public.tr_lk('pg_catalog.pg_authid')$$, 100);
CALL steward.run_transition('tr_sm1', 'a', 'b', $$note = public.tr_lk('steward.idempotency_keys')$$, 100);
CALL steward.run_transition('tr_sm1', 'a', 'b', $$note = public.tr_lk('public.tr_other')$$, 100);
-- Directly in the SET list, and with a table of its own as tbl.
CALL steward.run_transition('tr_sm1', 'a', 'b', $$note = steward._migration_lock_related('public.tr_cg', 'pg_catalog.pg_authid')::text$$, 100);
SELECT count(*) FILTER (WHERE st = 'a') AS still_a FROM tr_sm1;
-- Directly at top level: refused, and a view on the table as before.
BEGIN;
SELECT steward._migration_lock_related('tr_sm1', 'pg_catalog.pg_authid');
ROLLBACK;
BEGIN;
SELECT steward._migration_lock_related('tr_cg', 'tr_cg_view');
ROLLBACK;

-- R13-9, the review's input: app2's records moved onto app1's migration.
DO $d$ BEGIN EXECUTE format($f$
CREATE FUNCTION public.tr_forge() RETURNS text LANGUAGE plpgsql AS $b$
BEGIN
  PERFORM steward._migration_record('relayout', 'tr_cgm', '{"release_relid": "%s", "repoint": true}'::jsonb);
  PERFORM steward._migration_record('relayout', 'tr_cgm', '{"release_relid": "%s", "repoint": true}'::jsonb);
  RETURN 'x'; END $b$;
$f$, 'tr_t2sec'::regclass::oid, 'tr_t2b'::regclass::oid); END $d$;
INSERT INTO tr_sm1 (id) VALUES (200);
CALL steward.run_transition('tr_sm1', 'a', 'b', 'note = public.tr_forge()', 100);
-- As a number, as the writer reads it.
DO $d$ BEGIN EXECUTE format($f$
CREATE FUNCTION public.tr_forge2() RETURNS text LANGUAGE plpgsql AS $b$
BEGIN
  PERFORM steward._migration_record('relayout', 'tr_cgm', jsonb_build_object('release_relid', %s, 'repoint', true));
  RETURN 'x'; END $b$;
$f$, 'tr_t2b'::regclass::oid); END $d$;
CALL steward.run_transition('tr_sm1', 'a', 'b', 'note = public.tr_forge2()', 100);
SELECT name, started_by FROM steward.migrations WHERE name LIKE 'tr_app2%' ORDER BY 1;
RESET ROLE;

-- app2 still sees its records, and its migration still migrates.
SET ROLE tr_app2;
SELECT name FROM steward.migrations WHERE name LIKE 'tr_%' ORDER BY 1;
INSERT INTO tr_t2b (id, amount) VALUES (100, 7);
INSERT INTO tr_app2live.tr_t2b (id, cents) VALUES (101, 900);
CALL steward.migration_backfill('tr_app2live');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('tr_app2live');
SELECT steward.migration_complete('tr_app2live');
SELECT count(*) FILTER (WHERE cents IS NULL) AS null_cents, count(*) FROM tr_t2b;
SELECT steward.migration_cleanup('tr_app2live');
RESET ROLE;

SET ROLE tr_app1;
SELECT steward.migration_rollback('tr_cgm');
RESET ROLE;
DROP VIEW tr_cg_view;
DROP TABLE tr_sm1, tr_cg, tr_t2sec, tr_t2b, tr_other;
DROP FUNCTION public.tr_lk(regclass), public.tr_forge(), public.tr_forge2();
SELECT steward.drop_state_machine('tr_m1');
REVOKE CREATE ON SCHEMA public FROM tr_app1, tr_app2;
SELECT format('REVOKE CREATE ON DATABASE %I FROM tr_app1, tr_app2', current_database()) \gexec
DROP ROLE tr_app1;
DROP ROLE tr_app2;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('tr_app2secret', 'tr_app2live', 'tr_cgm');
\i test/sql/drop_migration_records.sql
