-- "pg_steward's own code" means the code of pg_steward's functions, not
-- the owner's code those functions run (review13 R13-8, R13-9): an
-- internal function acts for pg_steward only when pg_steward's own code
-- calls it.  The owner's code in a run_transition batch (the SET list, a
-- trigger of the table) and internal functions called directly are not:
-- * steward._migration_exec from a SET list is judged by the DDL guard
--   like any other statement: app1 added the foreign key to app2's
--   relayout that the guard refuses it directly, and blocked app2's
--   complete;
-- * steward._migration_record from a SET list or a trigger of the batch's
--   table is refused (42501) even for the caller's own migration (a phase
--   marked by hand turns the guard off);
-- * an internal PL/pgSQL function called directly, or from a SET list,
--   (steward._migration_switch: a column migration switched without
--   validation) no longer passes for pg_steward's code: its statements
--   are judged by the guard and its catalog writes refused.
-- * (R13-15) index statements of migrations run in at most
--   steward.max_index_workers background workers at once (53000).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE to_app1;
CREATE ROLE to_app2;
GRANT CREATE ON SCHEMA public TO to_app1, to_app2;
SELECT format('GRANT CREATE ON DATABASE %I TO to_app1, to_app2', current_database()) \gexec

-- app2 re-layouts r3; app1 may reference it.
SET ROLE to_app2;
CREATE TABLE to_r3 (id int PRIMARY KEY, b int);
INSERT INTO to_r3 SELECT g, g FROM generate_series(1,100) g;
GRANT SELECT, REFERENCES ON to_r3 TO to_app1;
SELECT steward.migration_start('to_r3m', '[{"relayout": {"table": "to_r3", "partition_by": "HASH (id)", "partitions": 4}}]');
RESET ROLE;

SET ROLE to_app1;
SELECT steward.create_state_machine('to_m1', states => ARRAY['a','b'], initial => ARRAY['a'], transitions => ARRAY['a->b']);
CREATE TABLE to_sm1 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'a', note text) USING steward;
SELECT steward.attach_state_machine('to_sm1', 'st', 'to_m1');
INSERT INTO to_sm1 SELECT g FROM generate_series(1,10) g;
CREATE TABLE to_ref (id int PRIMARY KEY, rid int);
-- Refused directly (as before).
ALTER TABLE to_ref ADD FOREIGN KEY (rid) REFERENCES public.to_r3(id);
-- The review's input: the same through _migration_exec from the SET list.
CREATE FUNCTION public.to_forge2() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM steward._migration_exec('public.to_ref', 'ALTER TABLE public.to_ref ADD FOREIGN KEY (rid) REFERENCES public.to_r3(id)');
  RETURN 'x'; END $$;
CALL steward.run_transition('to_sm1', 'a', 'b', 'note = public.to_forge2()', 100);
SELECT count(*) AS fks FROM pg_constraint WHERE conrelid = 'to_ref'::regclass AND contype = 'f';

-- app1's own column migration: its record is not written by the batch.
CREATE TABLE to_cg (id int PRIMARY KEY, v int);
INSERT INTO to_cg SELECT g, g FROM generate_series(1,5) g;
SELECT steward.migration_start('to_cgm', '[{"alter_column": {"table": "to_cg", "column": "v", "name": "w", "type": "bigint", "up": "v", "down": "w"}}]');
CREATE FUNCTION public.to_mark() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM steward._migration_record('update', 'to_cgm', '{"phase": "switched"}');
  RETURN 'x'; END $$;
CALL steward.run_transition('to_sm1', 'a', 'b', 'note = public.to_mark()', 100);
-- Directly in the SET list.
CALL steward.run_transition('to_sm1', 'a', 'b', $$note = steward._migration_record('update', 'to_cgm', '{"phase": "switched"}')::text$$, 100);
-- From a trigger the batch fires.
CREATE FUNCTION public.to_mark_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM steward._migration_record('update', 'to_cgm', '{"phase": "switched"}');
  RETURN NEW; END $$;
CREATE TRIGGER to_mark BEFORE UPDATE ON to_sm1 FOR EACH ROW EXECUTE FUNCTION public.to_mark_trg();
CALL steward.run_transition('to_sm1', 'a', 'b', NULL, 100);
DROP TRIGGER to_mark ON to_sm1;
SELECT phase FROM steward.migrations WHERE name = 'to_cgm';

-- An internal PL/pgSQL function called directly: the switch without
-- backfill or validation.
SELECT steward._migration_switch('to_cgm', '{"direction": "forward"}');
-- ... or from the SET list.
CALL steward.run_transition('to_sm1', 'a', 'b', $$note = steward._migration_switch('to_cgm', '{"direction": "forward"}')::text$$, 100);
SELECT phase FROM steward.migrations WHERE name = 'to_cgm';
SELECT attname FROM pg_attribute WHERE attrelid = 'to_cg'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT count(*) FILTER (WHERE st = 'a') AS still_a FROM to_sm1;

-- The documented path still works end to end.
CALL steward.migration_backfill('to_cgm');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('to_cgm');
SELECT steward.migration_complete('to_cgm');
SELECT steward.migration_cleanup('to_cgm');
SELECT id, w FROM to_cg ORDER BY id;
CALL steward.run_transition('to_sm1', 'a', 'b', $$note = 'done'$$, 100);
SELECT st, note, count(*) FROM to_sm1 GROUP BY 1, 2;
RESET ROLE;

-- app2's relayout completes: no foreign key of app1's was added.
SET ROLE to_app2;
CALL steward.migration_backfill('to_r3m');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('to_r3m');
SELECT steward.migration_complete('to_r3m');
SELECT steward.migration_cleanup('to_r3m');
RESET ROLE;

-- R13-15: index statements of migrations take at most
-- steward.max_index_workers background workers of the cluster (53000
-- beyond): any table owner took every max_worker_processes slot with
-- them.  The setting is a superuser's.
CREATE TABLE to_wk (id int PRIMARY KEY, c1 int, c2 int);
CREATE INDEX to_wk_c1 ON to_wk (c1);
CREATE INDEX to_wk_c2 ON to_wk (c2);
ALTER TABLE to_wk OWNER TO to_app1;
SHOW steward.max_index_workers;
SET steward.max_index_workers = 0;
SET ROLE to_app1;
SET steward.max_index_workers = 5;
SELECT steward._migration_index_run('to_wk', 'to_wk_c1', 'DROP INDEX CONCURRENTLY public.to_wk_c1');
RESET ROLE;
RESET steward.max_index_workers;
SET ROLE to_app1;
SELECT steward._migration_index_run('to_wk', 'to_wk_c1', 'DROP INDEX CONCURRENTLY public.to_wk_c1') IS NULL AS committed;
RESET ROLE;
SELECT relname FROM pg_class WHERE relname IN ('to_wk_c1', 'to_wk_c2') ORDER BY 1;
SELECT count(*) AS slots_held FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 5;

DROP TABLE to_sm1, to_ref, to_cg, to_r3, to_wk;
DROP FUNCTION public.to_forge2(), public.to_mark(), public.to_mark_trg();
SELECT steward.drop_state_machine('to_m1');
REVOKE CREATE ON SCHEMA public FROM to_app1, to_app2;
SELECT format('REVOKE CREATE ON DATABASE %I FROM to_app1, to_app2', current_database()) \gexec
DROP ROLE to_app1;
DROP ROLE to_app2;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('to_r3m', 'to_cgm');
\i test/sql/drop_migration_records.sql
