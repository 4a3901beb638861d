-- review16 R16-7, R16-2, R16-4: the shape guard judges what PostgreSQL
-- recorded on another migration's shapes also for a migration's own
-- statements (create_index definition, alter_column check / default,
-- add_column type), and a user's rule on its own shape view like any other
-- object; it starts from the pg_depend rows the transaction wrote (pages
-- the visibility map does not mark all-visible), so a VACUUM of pg_depend
-- between statements changes nothing.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS s3_a;
DROP ROLE IF EXISTS s3_b;
RESET client_min_messages;
CREATE ROLE s3_a;
CREATE ROLE s3_b;
GRANT CREATE ON SCHEMA public TO s3_a, s3_b;
SELECT format('GRANT CREATE ON DATABASE %I TO s3_a, s3_b', current_database()) \gexec

-- R16-7: s3_a's migration; s3_b may read its table (and so its shapes).
SET ROLE s3_a;
CREATE TABLE public.s3_ov (id int PRIMARY KEY, a int, b int);
INSERT INTO public.s3_ov SELECT g, g, g FROM generate_series(1, 10) g;
GRANT SELECT ON public.s3_ov TO s3_b;
SELECT steward.migration_start('s3_ovm', '[{"alter_column": {"table": "s3_ov", "column": "a", "name": "a2", "type": "bigint"}}]');
SET ROLE s3_b;
CREATE TABLE public.s3_x2 (id int PRIMARY KEY, v int);
INSERT INTO public.s3_x2 SELECT g, g FROM generate_series(1, 10) g;
CREATE TABLE public.s3_x3 (id int PRIMARY KEY, v int);
INSERT INTO public.s3_x3 SELECT g, g FROM generate_series(1, 10) g;
CREATE TABLE public.s3_x4 (id int PRIMARY KEY, v int);
INSERT INTO public.s3_x4 SELECT g, g FROM generate_series(1, 10) g;
-- the plain statement was refused already
CREATE INDEX s3_x2_plain ON public.s3_x2 (((ROW(id, 1, 1)::s3_ovm.s3_ov).id));
-- a migration's own statements over another migration's shapes: refused
SELECT steward.migration_start('s3_x3m', '[{"alter_column": {"table": "s3_x3", "column": "v", "type": "bigint", "check": "((ROW(id, 1, 1)::s3_ovm.s3_ov).id) > 0"}}]');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_start('s3_x3d', '[{"alter_column": {"table": "s3_x3", "column": "v", "type": "bigint", "default": "((ROW(1, 1, 1)::s3_ovm.s3_ov).id)"}}]');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_start('s3_x4m', '[{"add_column": {"table": "s3_x4", "column": "r", "type": "s3_ovm.s3_ov[]"}}]');
\echo :LAST_ERROR_SQLSTATE
-- a migration's own statements over nothing of another's: made
SELECT steward.migration_start('s3_x3ok', '[{"alter_column": {"table": "s3_x3", "column": "v", "type": "bigint", "check": "v > 0", "default": "1"}}]');
SELECT steward.migration_rollback('s3_x3ok');
RESET ROLE;
SELECT classid::regclass AS dependent FROM pg_depend
 WHERE refobjid IN ('s3_ovm.s3_ov'::regclass, 's3_ovm.s3_ov'::regtype, 's3_ovm.s3_ov[]'::regtype)
   AND deptype = 'n' AND classid <> 'pg_rewrite'::regclass;
-- so the owner can roll back
SET ROLE s3_a;
SELECT steward.migration_rollback('s3_ovm');
RESET ROLE;

-- R16-2: the first owner's rule on its own shape view reading another
-- shape view (the superuser's table's, and its own old shape): refused.
SET ROLE s3_a;
CREATE TABLE public.s3_t3y (id int PRIMARY KEY, a int);
INSERT INTO public.s3_t3y SELECT g, g FROM generate_series(1, 10) g;
RESET ROLE;
CREATE TABLE public.s3_sy (id int PRIMARY KEY, a int);
INSERT INTO public.s3_sy SELECT g, g FROM generate_series(1, 10) g;
SELECT steward.migration_start('s3_mo2', '[{"alter_column": {"table": "s3_t3y", "column": "a", "type": "bigint"}}, {"alter_column": {"table": "s3_sy", "column": "a", "type": "bigint"}}]');
-- R16-4: pages of pg_depend all-visible before the statement
VACUUM pg_catalog.pg_depend;
SET ROLE s3_a;
CREATE RULE s3_r3 AS ON UPDATE TO s3_mo2.s3_t3y DO ALSO SELECT 1 FROM s3_mo2.s3_sy, s3_mo2_old.s3_sy;
\echo :LAST_ERROR_SQLSTATE
CREATE RULE s3_r4 AS ON UPDATE TO s3_mo2.s3_t3y DO ALSO SELECT 1 FROM s3_mo2_old.s3_t3y;
\echo :LAST_ERROR_SQLSTATE
-- one reading only the view it is on goes with it: made
CREATE RULE s3_r5 AS ON UPDATE TO s3_mo2.s3_t3y DO ALSO SELECT count(*) FROM s3_mo2.s3_t3y;
SELECT rulename FROM pg_rewrite WHERE ev_class = 's3_mo2.s3_t3y'::regclass AND rulename <> '_RETURN';
RESET ROLE;
SELECT steward.migration_rollback('s3_mo2');

DROP TABLE public.s3_ov, public.s3_x2, public.s3_x3, public.s3_x4, public.s3_t3y, public.s3_sy;
REVOKE CREATE ON SCHEMA public FROM s3_a, s3_b;
SELECT format('REVOKE CREATE ON DATABASE %I FROM s3_a, s3_b', current_database()) \gexec
DROP ROLE s3_b;
DROP ROLE s3_a;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs
 WHERE name IN ('s3_ovm', 's3_x3m', 's3_x3d', 's3_x4m', 's3_x3ok', 's3_mo2');
\i test/sql/drop_migration_records.sql
