-- review16 R16-6: the migration DDL guard (ddl_command_start) judged the
-- statement's parse tree, and the CREATE TABLE and CREATE VIEW elements
-- of a CREATE SCHEMA, which core runs as subcommands with no event of
-- their own, passed: another role with REFERENCES or SELECT made a
-- foreign key to a migrated column or a relayout's table, or a view over
-- a migrated column, and blocked the owner's cleanup or complete; the
-- owner made an INHERITS child.  Each element is now refused with the
-- message of the same statement made alone.  Names the schema's own
-- elements create resolve to them, as core resolves them.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS g3s_app1;
DROP ROLE IF EXISTS g3s_app2;
RESET client_min_messages;
CREATE ROLE g3s_app1;
CREATE ROLE g3s_app2;
GRANT CREATE ON SCHEMA public TO g3s_app1, g3s_app2;
SELECT format('GRANT CREATE ON DATABASE %I TO g3s_app1, g3s_app2', current_database()) \gexec

SET ROLE g3s_app1;
CREATE TABLE public.g3s_cu (id int PRIMARY KEY, a int UNIQUE);
INSERT INTO public.g3s_cu SELECT g, g FROM generate_series(1, 10) g;
GRANT SELECT, REFERENCES ON public.g3s_cu TO g3s_app2;
SELECT steward.migration_start('g3s_cum', '[{"alter_column": {"table": "g3s_cu", "column": "a", "type": "bigint", "unique": true}}]');
CREATE TABLE public.g3s_rh (id int PRIMARY KEY, v int);
INSERT INTO public.g3s_rh SELECT g, g FROM generate_series(1, 10) g;
GRANT SELECT, REFERENCES ON public.g3s_rh TO g3s_app2;
SELECT steward.migration_start('g3s_rhm', '[{"relayout": {"table": "g3s_rh", "partition_by": "RANGE (id)", "partitions": [{"from": [1], "to": [100]}]}}]');
RESET ROLE;

-- 1. Another role: a foreign key to the migrated column, alone and as a
-- schema element; a view over it; a foreign key to the relayout's table.
SET ROLE g3s_app2;
CREATE TABLE public.g3s_fk1 (id int, r int REFERENCES public.g3s_cu (a));
CREATE SCHEMA g3s_a1 CREATE TABLE g3s_fk2 (id int, r int REFERENCES public.g3s_cu (a));
CREATE SCHEMA g3s_a2 CREATE TABLE g3s_fk3 (id int, r int, FOREIGN KEY (r) REFERENCES public.g3s_cu (a));
CREATE VIEW public.g3s_v1 AS SELECT id, a FROM public.g3s_cu;
CREATE SCHEMA g3s_a3 CREATE VIEW g3s_v2 AS SELECT id, a FROM public.g3s_cu;
CREATE TABLE public.g3s_rfk1 (id int, r int REFERENCES public.g3s_rh (id));
CREATE SCHEMA g3s_a4 CREATE TABLE g3s_rfk2 (id int, r int REFERENCES public.g3s_rh (id));
-- A later element is judged too.
CREATE SCHEMA g3s_a5 CREATE TABLE g3s_ok (id int) CREATE VIEW g3s_v3 AS SELECT a FROM public.g3s_cu;
SELECT count(*) AS schemas_made FROM pg_namespace WHERE nspname LIKE 'g3s\_a%';
-- Names of the schema's own tables resolve to them: accepted (public.g3s_cu
-- would be refused).
CREATE SCHEMA g3s_b
  CREATE TABLE g3s_cu (id int PRIMARY KEY, a int UNIQUE)
  CREATE TABLE g3s_fk4 (id int, r int REFERENCES g3s_cu (a))
  CREATE VIEW g3s_v4 AS SELECT id, a FROM g3s_cu;
SELECT c.conname, c.confrelid::regclass AS refers_to FROM pg_constraint c
 WHERE c.conrelid = 'g3s_b.g3s_fk4'::regclass AND c.contype = 'f';
-- What uses no migrated column passes.
CREATE SCHEMA g3s_c CREATE VIEW g3s_v5 AS SELECT id FROM public.g3s_cu;
SELECT count(*) AS views_made FROM pg_class WHERE oid = 'g3s_c.g3s_v5'::regclass;
RESET ROLE;

-- 2. The owner: an INHERITS child, alone and as a schema element.
SET ROLE g3s_app1;
CREATE TABLE public.g3s_child1 () INHERITS (public.g3s_cu);
CREATE SCHEMA g3s_d CREATE TABLE g3s_child2 () INHERITS (public.g3s_cu);
SELECT count(*) AS children FROM pg_inherits WHERE inhparent = 'public.g3s_cu'::regclass;
RESET ROLE;

-- 3. The migrations finish: nothing of another role blocks them.
SET ROLE g3s_app1;
CALL steward.migration_backfill('g3s_cum');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('g3s_cum');
SELECT steward.migration_complete('g3s_cum');
SELECT steward.migration_cleanup('g3s_cum');
SELECT steward.migration_rollback('g3s_rhm');
RESET ROLE;

-- 4. The written-columns check (steward_rules_written, ddl_command_end):
-- a CHECK over the version column on a partition of a versioned table,
-- alone and as a schema element, is refused; a view WITH CHECK OPTION over
-- it is accepted (PostgreSQL checks it on the stored row: sql/326).
CREATE TABLE public.g3s_acct (region text NOT NULL, id int NOT NULL, version bigint)
  PARTITION BY LIST (region);
CREATE TABLE public.g3s_acct_eu PARTITION OF public.g3s_acct FOR VALUES IN ('eu') USING steward;
SELECT steward.track_versions('public.g3s_acct', 'version');
CREATE TABLE public.g3s_acct_us PARTITION OF public.g3s_acct (CONSTRAINT small CHECK (version < 10))
  FOR VALUES IN ('us') USING steward;
CREATE SCHEMA g3s_e CREATE TABLE g3s_acct_us PARTITION OF public.g3s_acct (CONSTRAINT small CHECK (version < 10))
  FOR VALUES IN ('us') USING steward;
CREATE VIEW public.g3s_acct_v AS SELECT * FROM public.g3s_acct WHERE version < 10 WITH CHECK OPTION;
CREATE SCHEMA g3s_f CREATE VIEW g3s_acct_v AS SELECT * FROM public.g3s_acct WHERE version < 10 WITH CHECK OPTION;
SELECT nspname AS schemas_made FROM pg_namespace WHERE nspname IN ('g3s_e', 'g3s_f');
DROP SCHEMA g3s_f CASCADE;
DROP VIEW public.g3s_acct_v;
SELECT steward.untrack('public.g3s_acct', 'version');
DROP TABLE public.g3s_acct;

DROP SCHEMA g3s_b, g3s_c CASCADE;
DROP TABLE public.g3s_cu, public.g3s_rh;
REVOKE CREATE ON SCHEMA public FROM g3s_app1, g3s_app2;
SELECT format('REVOKE CREATE ON DATABASE %I FROM g3s_app1, g3s_app2', current_database()) \gexec
DROP ROLE g3s_app1;
DROP ROLE g3s_app2;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('g3s_cum', 'g3s_rhm');
\i test/sql/drop_migration_records.sql
