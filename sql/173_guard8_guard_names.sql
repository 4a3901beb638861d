-- closing36 item 2 (guard8): the migration guards' refusals name what a
-- user would name.  1. a column whose type is a relayout's layout's row
-- type is named as the column (was "table X"); 2. a view naming a
-- layout's index or a drop_index step's index by a constant is named as
-- the view (was "rule _RETURN on view X"); 3. an object made around the
-- guard that blocks a relayout's rollback or cleanup is named in the
-- migration's words with the next step (was core's "Use DROP ...
-- CASCADE"); 4. another role's CREATE INDEX over a column a migration
-- drops meets core's 42501 alone (the guard's NOTICE came first).  Then
-- two cases no test covered: 5. a SQL-standard body naming a partition
-- by a regclass constant before a relayout's start; 6. a column
-- migration's `up` naming another owner's relayout layout.  7. the
-- owner's view over the old layout after complete.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS g8_app1;
DROP ROLE IF EXISTS g8_app2;
RESET client_min_messages;
CREATE ROLE g8_app1;
CREATE ROLE g8_app2;
GRANT CREATE ON SCHEMA public TO g8_app1, g8_app2;
SELECT format('GRANT CREATE ON DATABASE %I TO g8_app1, g8_app2', current_database()) \gexec

-- 2. A view of another role naming the table's primary key index by OID
-- (made before the start): start names the view.
SET ROLE g8_app1;
CREATE TABLE public.g8_r (id bigint, u bigint, PRIMARY KEY (id, u)) USING steward;
INSERT INTO public.g8_r SELECT g, g % 7 FROM generate_series(1, 50) g;
GRANT SELECT ON public.g8_r TO g8_app2;
RESET ROLE;
SELECT 'public.g8_r_pkey'::regclass::oid AS r_pkey \gset
SET ROLE g8_app2;
CREATE VIEW public.g8_v2 AS SELECT :'r_pkey'::regclass AS i;
SET ROLE g8_app1;
SELECT steward.migration_start('g8_rm', '[{"relayout": {"table": "g8_r", "partition_by": "HASH (u)", "partitions": 2}}]');
SET ROLE g8_app2;
DROP VIEW public.g8_v2;

-- 1. A relayout; another role's column of the layout's row type: the
-- refusal names the column.
SET ROLE g8_app1;
SELECT steward.migration_start('g8_rm', '[{"relayout": {"table": "g8_r", "partition_by": "HASH (u)", "partitions": 2}}]');
RESET ROLE;
SELECT 'public.g8_r_relayout_new'::regclass::oid AS new_layout \gset
SET ROLE g8_app2;
CREATE TABLE public.g8_own (id int);
\set VERBOSITY terse
ALTER TABLE public.g8_own ADD COLUMN r public.g8_r;
CREATE TABLE public.g8_e (id int, r public.g8_r);
\set VERBOSITY default
RESET ROLE;

-- 3. Objects made around the guard (a superuser disables the event
-- trigger for one transaction): the rollback names them in the
-- migration's words and leaves the migration as it was.
BEGIN;
ALTER EVENT TRIGGER steward_migration_shape_users DISABLE;
CREATE VIEW public.g8_around1 AS SELECT :'new_layout'::regclass AS r;
ALTER EVENT TRIGGER steward_migration_shape_users ENABLE ALWAYS;
COMMIT;
ALTER VIEW public.g8_around1 OWNER TO g8_app2;
SET ROLE g8_app1;
SELECT steward.migration_rollback('g8_rm');
RESET ROLE;
SELECT result FROM steward.migrations WHERE name = 'g8_rm';
DROP VIEW public.g8_around1;
SET ROLE g8_app1;
SELECT steward.migration_rollback('g8_rm');
RESET ROLE;
SELECT result FROM steward.migrations WHERE name = 'g8_rm';
-- The cleanup of a completed relayout, with an object made around the
-- guard over the old layout.
SET ROLE g8_app1;
SELECT steward.migration_start('g8_rm2', '[{"relayout": {"table": "g8_r", "partition_by": "HASH (u)", "partitions": 2}}]');
CALL steward.migration_backfill('g8_rm2');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('g8_rm2');
SELECT steward.migration_complete('g8_rm2');
RESET ROLE;
SELECT 'public.g8_r_relayout_old'::regclass::oid AS old_layout \gset
-- 3 (after complete). A view made around the guard over a partition of
-- the new layout, the table since complete: the rollback's refusal names
-- the layout by that name, not by public.g8_r_relayout_new, a name it has
-- only inside the rolled-back rollback (readme37 G1).
BEGIN;
ALTER EVENT TRIGGER steward_migration_shape_users DISABLE;
CREATE VIEW public.g8_around3 AS SELECT 'public.g8_r_p0'::regclass AS r;
ALTER EVENT TRIGGER steward_migration_shape_users ENABLE ALWAYS;
COMMIT;
ALTER VIEW public.g8_around3 OWNER TO g8_app2;
SET ROLE g8_app1;
SELECT steward.migration_rollback('g8_rm2');
RESET ROLE;
SELECT result FROM steward.migrations WHERE name = 'g8_rm2';
DROP VIEW public.g8_around3;
-- 7. After complete, the owner's own view over the old layout (by OID)
-- is refused: no cutover carries it any more, and the cleanup drops that
-- layout (it was accepted as a view the cutover redefines).
SET ROLE g8_app1;
\set VERBOSITY terse
CREATE VIEW public.g8_after AS SELECT :'old_layout'::regclass AS r;
\set VERBOSITY default
RESET ROLE;
BEGIN;
ALTER EVENT TRIGGER steward_migration_shape_users DISABLE;
CREATE VIEW public.g8_around2 AS SELECT :'old_layout'::regclass AS r;
ALTER EVENT TRIGGER steward_migration_shape_users ENABLE ALWAYS;
COMMIT;
ALTER VIEW public.g8_around2 OWNER TO g8_app2;
SET ROLE g8_app1;
SELECT steward.migration_cleanup('g8_rm2');
RESET ROLE;
SELECT result FROM steward.migrations WHERE name = 'g8_rm2';
DROP VIEW public.g8_around2;
SET ROLE g8_app1;
SELECT steward.migration_cleanup('g8_rm2');
RESET ROLE;
SELECT result FROM steward.migrations WHERE name = 'g8_rm2';

-- 2 (continued). A drop_index step over an index another role's view
-- names by OID: start names the view.
SET ROLE g8_app1;
CREATE TABLE public.g8_c (id int PRIMARY KEY, v int);
CREATE INDEX g8_c_w ON public.g8_c (v);
RESET ROLE;
SELECT 'public.g8_c_w'::regclass::oid AS drop_index \gset
SET ROLE g8_app2;
CREATE VIEW public.g8_v6 AS SELECT :'drop_index'::regclass AS i;
SET ROLE g8_app1;
SELECT steward.migration_start('g8_dx', '[{"drop_index": {"name": "g8_c_w"}}]');
SET ROLE g8_app2;
DROP VIEW public.g8_v6;

-- 4. Another role's CREATE INDEX over the old column of a column
-- migration: core's 42501 and nothing before it.
SET ROLE g8_app1;
CREATE TABLE public.g8_t (id int PRIMARY KEY, a int);
GRANT SELECT ON public.g8_t TO g8_app2;
SELECT steward.migration_start('g8_am', '[{"alter_column": {"table": "g8_t", "column": "a", "name": "a2", "type": "bigint", "up": "a::bigint", "down": "a2::int"}}]');
SET ROLE g8_app2;
CREATE INDEX g8_ti ON public.g8_t (a);
CREATE INDEX CONCURRENTLY g8_ti ON public.g8_t (a);
-- The owner's still gets the NOTICE.
SET ROLE g8_app1;
CREATE INDEX g8_ti ON public.g8_t (a);
SELECT steward.migration_rollback('g8_am');
RESET ROLE;

-- 5. A SQL-standard body of another role naming a partition by OID (made
-- before the start): start refuses it.
SET ROLE g8_app1;
CREATE TABLE public.g8_p (id bigint, u bigint, PRIMARY KEY (id, u)) PARTITION BY HASH (id);
CREATE TABLE public.g8_p0 PARTITION OF public.g8_p FOR VALUES WITH (MODULUS 2, REMAINDER 0) USING steward;
CREATE TABLE public.g8_p1 PARTITION OF public.g8_p FOR VALUES WITH (MODULUS 2, REMAINDER 1) USING steward;
INSERT INTO public.g8_p SELECT g, g % 7 FROM generate_series(1, 20) g;
RESET ROLE;
SELECT 'public.g8_p1'::regclass::oid AS p1 \gset
SET ROLE g8_app2;
CREATE FUNCTION public.g8_f5() RETURNS oid LANGUAGE sql BEGIN ATOMIC SELECT :'p1'::regclass::oid; END;
SET ROLE g8_app1;
SELECT steward.migration_start('g8_pm', '[{"relayout": {"table": "g8_p", "partition_by": "HASH (u)", "partitions": 2}}]');
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'g8_pm';
SET ROLE g8_app2;
DROP FUNCTION public.g8_f5();

-- 6. A column migration of g8_app2's whose `up` names g8_app1's new
-- layout by OID: nothing of it depends on the layout (the expression is
-- kept as text and run by the trigger and the backfill), so g8_app1's
-- rollback drops it.
SET ROLE g8_app1;
SELECT steward.migration_start('g8_rm3', '[{"relayout": {"table": "g8_r", "partition_by": "HASH (u)", "partitions": 2}}]');
RESET ROLE;
SELECT 'public.g8_r_relayout_new'::regclass::oid AS new_layout3 \gset
SET ROLE g8_app2;
CREATE TABLE public.g8_t2 (id int PRIMARY KEY, a int);
INSERT INTO public.g8_t2 VALUES (1, 1);
SELECT steward.migration_start('g8_cm', format('[{"alter_column": {"table": "g8_t2", "column": "a", "name": "a2", "type": "bigint", "up": "a::bigint + %s::regclass::oid::bigint * 0", "down": "a2::int"}}]', :'new_layout3')::jsonb);
CALL steward.migration_backfill('g8_cm');
RESET ROLE;
SELECT count(*) AS dependents FROM pg_depend WHERE refobjid = :'new_layout3' AND deptype = 'n';
SET ROLE g8_app1;
SELECT steward.migration_rollback('g8_rm3');
SET ROLE g8_app2;
SELECT steward.migration_rollback('g8_cm');
RESET ROLE;
SELECT count(*) AS new_layouts FROM pg_class WHERE oid = :'new_layout3';

DROP TABLE public.g8_own, public.g8_r, public.g8_c, public.g8_t, public.g8_p, public.g8_t2;
REVOKE CREATE ON SCHEMA public FROM g8_app1, g8_app2;
SELECT format('REVOKE CREATE ON DATABASE %I FROM g8_app1, g8_app2', current_database()) \gexec
DROP ROLE g8_app1;
DROP ROLE g8_app2;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('g8_rm', 'g8_rm2', 'g8_rm3', 'g8_dx', 'g8_am', 'g8_pm', 'g8_cm');
\i test/sql/drop_migration_records.sql
