-- guard9 (guard8's leftovers).  1. After a relayout's complete the table
-- is the new layout: the owner's plain view over it is accepted (a
-- rollback redefines it on the old layout as it does the table's other
-- views; it was refused until cleanup with a hint telling to create the
-- view on the table, which it was); another role's is refused with the
-- rollback named; a view on the old layout by name names the cleanup;
-- a materialized view over the table is refused before complete and
-- after (the cutover moves plain views only; it was accepted, and the
-- cleanup then failed on it), as is a rule over the table (another
-- table's, a view's ON INSERT).  2. The internal functions that store a
-- role refuse one that does not exist (42704), and _apply_rule_label an
-- OID naming no relation (42P01, was 0A000).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS g9_app1;
DROP ROLE IF EXISTS g9_app2;
RESET client_min_messages;
CREATE ROLE g9_app1;
CREATE ROLE g9_app2;
GRANT CREATE ON SCHEMA public TO g9_app1, g9_app2;
SELECT format('GRANT CREATE ON DATABASE %I TO g9_app1, g9_app2', current_database()) \gexec

SET ROLE g9_app1;
CREATE TABLE public.g9_r (id bigint, u bigint, PRIMARY KEY (id, u)) USING steward;
INSERT INTO public.g9_r SELECT g, g % 7 FROM generate_series(1, 50) g;
GRANT SELECT ON public.g9_r TO g9_app2;
CREATE TABLE public.g9_o (id bigint);
CREATE VIEW public.g9_ov AS SELECT id FROM public.g9_o;
CREATE VIEW public.g9_v1 AS SELECT id, u FROM public.g9_r;
RESET ROLE;
SELECT 'public.g9_r'::regclass::oid AS old_layout \gset
SET ROLE g9_app1;
SELECT steward.migration_start('g9_rm', '[{"relayout": {"table": "g9_r", "partition_by": "HASH (u)", "partitions": 2}}]');
RESET ROLE;
SELECT 'public.g9_r_relayout_new'::regclass::oid AS new_layout \gset
SET ROLE g9_app1;
-- Before complete: a materialized view, another table's rule and a
-- view's ON INSERT rule over the table are refused.
CREATE MATERIALIZED VIEW public.g9_mv AS SELECT id FROM public.g9_r;
\set VERBOSITY terse
CREATE RULE g9_rule AS ON INSERT TO public.g9_o DO ALSO INSERT INTO public.g9_r VALUES (NEW.id, 0);
CREATE RULE g9_vrule AS ON INSERT TO public.g9_ov DO INSTEAD INSERT INTO public.g9_r VALUES (NEW.id, 0);
\set VERBOSITY default
-- The owner's view on the table: accepted, carried by complete.
CREATE VIEW public.g9_v0 AS SELECT id FROM public.g9_r;
CALL steward.migration_backfill('g9_rm');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('g9_rm');
SELECT steward.migration_complete('g9_rm');
RESET ROLE;
SELECT 'public.g9_r'::regclass::oid = :'new_layout' AS table_is_new_layout;

-- After complete: the owner's plain view over the table is accepted.
SET ROLE g9_app1;
CREATE VIEW public.g9_v2 AS SELECT id FROM public.g9_r WHERE u < 3;
CREATE OR REPLACE VIEW public.g9_v1 AS SELECT id, u, id + u AS s FROM public.g9_r;
-- Another role's is refused, naming the rollback.
SET ROLE g9_app2;
CREATE VIEW public.g9_v3 AS SELECT id FROM public.g9_r;
-- A view over the old layout by name: refused, naming the cleanup.
SET ROLE g9_app1;
CREATE VIEW public.g9_v4 AS SELECT id FROM public.g9_r_relayout_old;
-- A materialized view over the table: refused.
CREATE MATERIALIZED VIEW public.g9_mv AS SELECT id FROM public.g9_r;
\set VERBOSITY terse
CREATE RULE g9_rule AS ON INSERT TO public.g9_o DO ALSO INSERT INTO public.g9_r VALUES (NEW.id, 0);
\set VERBOSITY default
RESET ROLE;
SELECT c.relname, d.refobjid = :'new_layout' AS on_new_layout
  FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid JOIN pg_class c ON c.oid = rw.ev_class
 WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid IN (:'old_layout', :'new_layout')
   AND c.relname LIKE 'g9\_%' GROUP BY 1, 2 ORDER BY 1;

-- A rollback redefines the views made since complete on the old layout.
SET ROLE g9_app1;
SELECT steward.migration_rollback('g9_rm');
RESET ROLE;
SELECT 'public.g9_r'::regclass::oid = :'old_layout' AS table_is_old_layout;
SELECT c.relname, d.refobjid = :'old_layout' AS on_old_layout
  FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid JOIN pg_class c ON c.oid = rw.ev_class
 WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid IN (:'old_layout', :'new_layout')
   AND c.relname LIKE 'g9\_%' GROUP BY 1, 2 ORDER BY 1;
SELECT (SELECT count(*) FROM public.g9_v2) AS v2_rows, (SELECT sum(s) FROM public.g9_v1) AS v1_sum;

-- Complete and cleanup with a view made after complete.
SET ROLE g9_app1;
SELECT steward.migration_start('g9_rm2', '[{"relayout": {"table": "g9_r", "partition_by": "HASH (u)", "partitions": 2}}]');
CALL steward.migration_backfill('g9_rm2');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('g9_rm2');
SELECT steward.migration_complete('g9_rm2');
CREATE VIEW public.g9_v5 AS SELECT id FROM public.g9_r;
SELECT steward.migration_cleanup('g9_rm2');
SELECT result FROM steward.migrations WHERE name = 'g9_rm2';
SELECT count(*) AS v5_rows FROM public.g9_v5;
RESET ROLE;

DROP VIEW public.g9_v0, public.g9_v1, public.g9_v2, public.g9_v5, public.g9_ov;
DROP TABLE public.g9_r, public.g9_o;
REVOKE CREATE ON SCHEMA public FROM g9_app1, g9_app2;
SELECT format('REVOKE CREATE ON DATABASE %I FROM g9_app1, g9_app2', current_database()) \gexec
DROP ROLE g9_app1;
DROP ROLE g9_app2;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('g9_rm', 'g9_rm2');
\i test/sql/drop_migration_records.sql

-- 2. Internal functions given a role that does not exist (0, a dropped
-- role's OID) or a relation OID naming nothing: each refuses, nothing is
-- stored (the machine was stored with owner 0; _reassign_owned gave the
-- built-in machine owner 0; _apply_rule_label said 0A000).
CREATE ROLE g9_gone;
SELECT 'g9_gone'::regrole::oid AS gone_role \gset
DROP ROLE g9_gone;
\set VERBOSITY sqlstate
SELECT steward._create_state_machine('g9_fzm', '{a}', '{a}', '{}', '0'::regrole);
SELECT steward._create_state_machine('g9_fzm', '{a}', '{a}', '{}', :'gone_role'::oid::regrole);
SELECT steward._create_state_machine('g9_fzm', '{a}', '{a}', '{}', NULL);
SELECT steward._apply_rule_label('0'::regclass, 1::smallint, 'x', current_user::regrole);
CREATE TABLE public.g9_l (id int, s text) USING steward;
SELECT steward._apply_rule_label('public.g9_l'::regclass, 2::smallint,
    '{"v": 1, "kind": "state", "machine": "g9_fzm", "states": ["a"], "initial": ["a"], "transitions": []}',
    '0'::regrole);
SELECT steward._apply_label_state('public.g9_l'::regclass, 's', 'text'::regtype,
    '{"machine": "g9_fzm", "states": ["a"], "initial": ["a"], "transitions": []}', :'gone_role'::oid::regrole);
SELECT steward._reassign_owned(ARRAY[current_user::regrole::oid], 0);
SELECT steward._reassign_owned(ARRAY[(SELECT e.extowner FROM pg_extension e WHERE e.extname = 'pg_steward')], :'gone_role');
\set VERBOSITY default
SELECT steward._apply_rule_label('0'::regclass, 1::smallint, 'x', current_user::regrole);
SELECT count(*) AS machines FROM steward.machine_definitions WHERE name = 'g9_fzm';
SELECT count(*) AS rules FROM steward.column_rules WHERE relid = 'public.g9_l'::regclass;
SELECT count(*) AS ownerless FROM steward.machine_definitions m
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = m.owner);
-- With roles that exist, as before.
SELECT steward._create_state_machine('g9_fzm', '{a}', '{a}', '{}', current_user::regrole);
SELECT steward._apply_rule_label('public.g9_l'::regclass, 2::smallint,
    '{"v": 1, "kind": "state", "machine": "g9_fzm", "states": ["a"], "initial": ["a"], "transitions": []}',
    current_user::regrole);
SELECT kind, machine FROM steward.column_rules WHERE relid = 'public.g9_l'::regclass;
DROP TABLE public.g9_l;
SELECT steward.drop_state_machine('g9_fzm');
