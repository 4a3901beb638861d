-- codereview5 #1, #2: another role's CHECK constraint (of its own table)
-- or domain CHECK naming a relayout's layout, an index of one or a
-- drop_index step's index by a regclass constant (a numeric literal
-- needs no privilege) blocked the cleanup / rollback with core's 2BP01.
-- Refused at start (2BP01 naming the object) and, during a relayout, at
-- the statement (55006).
SET client_min_messages = warning;
DROP ROLE IF EXISTS g7_app1;
DROP ROLE IF EXISTS g7_app3;
RESET client_min_messages;
CREATE ROLE g7_app1;
CREATE ROLE g7_app3;
GRANT CREATE ON SCHEMA public TO g7_app1, g7_app3;
SELECT format('GRANT CREATE ON DATABASE %I TO g7_app3', current_database()) \gexec
SET ROLE g7_app1;
CREATE TABLE public.g7_r (id bigint, u bigint, PRIMARY KEY (id, u)) USING steward;
INSERT INTO public.g7_r SELECT g, g % 7 FROM generate_series(1, 50) g;
CREATE TABLE public.g7_c (id int PRIMARY KEY, v int);
CREATE INDEX g7_c_w ON public.g7_c (v);
RESET ROLE;
SELECT 'public.g7_r'::regclass::oid AS r_table, 'public.g7_r_pkey'::regclass::oid AS r_index,
       'public.g7_c_w'::regclass::oid AS drop_index \gset
SET ROLE g7_app3;
CREATE TABLE public.g7_own (x oid);
-- 1. Before the start: a domain's CHECK on the table; another table's
-- CHECK on the table's index.
CREATE DOMAIN public.g7_d1 AS oid CHECK (VALUE <> :'r_table'::regclass);
SET ROLE g7_app1;
SELECT steward.migration_start('g7_rm', '[{"relayout": {"table": "g7_r", "partition_by": "HASH (u)", "partitions": 2}}]');
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'g7_rm';
SET ROLE g7_app3;
DROP DOMAIN public.g7_d1;
ALTER TABLE public.g7_own ADD CONSTRAINT g7_k1 CHECK (x <> :'r_index'::regclass);
SET ROLE g7_app1;
SELECT steward.migration_start('g7_rm', '[{"relayout": {"table": "g7_r", "partition_by": "HASH (u)", "partitions": 2}}]');
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'g7_rm';
SET ROLE g7_app3;
ALTER TABLE public.g7_own DROP CONSTRAINT g7_k1;
-- The table's own CHECK naming itself goes with it: accepted.
SET ROLE g7_app1;
ALTER TABLE public.g7_r ADD CONSTRAINT g7_own_check CHECK (id::oid::regclass <> :'r_table'::regclass OR id = 0);
SELECT steward.migration_start('g7_rm', '[{"relayout": {"table": "g7_r", "partition_by": "HASH (u)", "partitions": 2}}]');
RESET ROLE;
SELECT 'public.g7_r_relayout_new'::regclass::oid AS r_new, 'public.g7_r_p0'::regclass::oid AS r_part,
       'public.g7_r_relayout_new_pkey'::regclass::oid AS new_index \gset
-- 2. During the relayout: refused at the statement.
SET ROLE g7_app3;
\set VERBOSITY terse
CREATE DOMAIN public.g7_d2 AS oid CHECK (VALUE <> :'r_new'::regclass);
\echo :LAST_ERROR_SQLSTATE
CREATE DOMAIN public.g7_d3 AS oid CHECK (VALUE <> :'r_part'::regclass);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE public.g7_own ADD CONSTRAINT g7_k2 CHECK (x <> :'r_table'::regclass);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE public.g7_own ADD CONSTRAINT g7_k3 CHECK (x <> :'new_index'::regclass);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
RESET ROLE;
SELECT typname FROM pg_type WHERE typname LIKE 'g7\_d%' ORDER BY 1;
SELECT conname FROM pg_constraint WHERE conname LIKE 'g7\_k%' ORDER BY 1;
-- The rollback drops the new layout (2BP01 before the fix).
SET ROLE g7_app1;
SELECT steward.migration_rollback('g7_rm');
RESET ROLE;
SELECT relname FROM pg_class WHERE relname LIKE 'g7\_r\_relayout%' ORDER BY 1;

-- 3. A drop_index step over an index another table's CHECK names.
SET ROLE g7_app3;
ALTER TABLE public.g7_own ADD CONSTRAINT g7_k4 CHECK (x <> :'drop_index'::regclass);
SET ROLE g7_app1;
SELECT steward.migration_start('g7_dx', '[{"drop_index": {"name": "g7_c_w"}}]');
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'g7_dx';
SET ROLE g7_app3;
ALTER TABLE public.g7_own DROP CONSTRAINT g7_k4;
-- During the step: refused at the statement.
SET ROLE g7_app1;
SELECT steward.migration_start('g7_dx', '[{"drop_index": {"name": "g7_c_w"}}]');
SET ROLE g7_app3;
\set VERBOSITY terse
ALTER TABLE public.g7_own ADD CONSTRAINT g7_k5 CHECK (x <> :'drop_index'::regclass);
\echo :LAST_ERROR_SQLSTATE
CREATE DOMAIN public.g7_d5 AS oid CHECK (VALUE <> :'drop_index'::regclass);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SET ROLE g7_app1;
SELECT steward.migration_rollback('g7_dx');
RESET ROLE;
SELECT relname FROM pg_class WHERE relname = 'g7_c_w';

-- 4. A partitioned table: a domain's CHECK on a partition's row type made
-- before the start.
SET ROLE g7_app1;
CREATE TABLE public.g7_p (id bigint, u bigint, PRIMARY KEY (id, u)) PARTITION BY HASH (id);
CREATE TABLE public.g7_p0 PARTITION OF public.g7_p FOR VALUES WITH (MODULUS 2, REMAINDER 0) USING steward;
CREATE TABLE public.g7_p1 PARTITION OF public.g7_p FOR VALUES WITH (MODULUS 2, REMAINDER 1) USING steward;
INSERT INTO public.g7_p SELECT g, g % 7 FROM generate_series(1, 20) g;
RESET ROLE;
SELECT 'public.g7_p1'::regtype::oid AS p1_type \gset
SET ROLE g7_app3;
CREATE DOMAIN public.g7_d6 AS oid CHECK (VALUE <> :'p1_type'::regtype);
SET ROLE g7_app1;
SELECT steward.migration_start('g7_pm', '[{"relayout": {"table": "g7_p", "partition_by": "HASH (u)", "partitions": 2}}]');
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'g7_pm';
SET ROLE g7_app3;
DROP DOMAIN public.g7_d6;
RESET ROLE;

-- 5. codereview5 #4: another migration's own statement (an add_column
-- step's default, set by the extension on its owner's table) naming a
-- relayout's layout or an index step's index: judged like any other.
SET ROLE g7_app1;
SELECT steward.migration_start('g7_rm5', '[{"relayout": {"table": "g7_r", "partition_by": "HASH (u)", "partitions": 2}}]');
SELECT steward.migration_start('g7_ix', '[{"create_index": {"table": "g7_c", "name": "g7_c_v", "definition": "(v)"}}]');
CALL steward.migration_backfill('g7_ix');
RESET ROLE;
SELECT 'public.g7_c_v'::regclass::oid AS step_index, 'public.g7_r_relayout_new'::regclass::oid AS r_new5 \gset
SET ROLE g7_app3;
CREATE TABLE public.g7_m (id int PRIMARY KEY, v int) USING steward;
\set VERBOSITY terse
SELECT steward.migration_start('g7_mm', format('[{"add_column": {"table": "g7_m", "column": "w", "type": "bigint", "default": "''%s''::regclass::oid::bigint"}}]', :'r_new5')::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_start('g7_mm', format('[{"add_column": {"table": "g7_m", "column": "w", "type": "bigint", "default": "''%s''::regclass::oid::bigint"}}]', :'step_index')::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_start('g7_mm', '[{"add_column": {"table": "g7_m", "column": "w", "type": "public.g7_r_relayout_new"}}]');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'g7_mm';
SET ROLE g7_app1;
SELECT steward.migration_rollback('g7_ix');
SELECT steward.migration_rollback('g7_rm5');
RESET ROLE;
SELECT relname FROM pg_class WHERE relname IN ('g7_c_v', 'g7_r_relayout_new') ORDER BY 1;

DROP TABLE public.g7_own, public.g7_r, public.g7_c, public.g7_p, public.g7_m;
REVOKE CREATE ON SCHEMA public FROM g7_app1, g7_app3;
SELECT format('REVOKE CREATE ON DATABASE %I FROM g7_app3', current_database()) \gexec
DROP ROLE g7_app1;
DROP ROLE g7_app3;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('g7_rm', 'g7_dx', 'g7_pm', 'g7_rm5', 'g7_ix', 'g7_mm');
\i test/sql/drop_migration_records.sql
