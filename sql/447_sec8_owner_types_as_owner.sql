-- sec8: PostgreSQL runs a type's input function when it parses a literal
-- or reads a value back from text, and a table owner's domain (or an
-- array, composite or range built on one) runs the domain's CHECK, any
-- function of the owner's, through domain_in.  This guards the paths
-- where pg_steward reads or parses values of the owner's types while a
-- superuser calls it: each must run that code as the table's owner (or
-- not at all), never as the superuser.  Audited by sec8 (stop 47): all
-- pass today; a change that parses such text as the caller fails here.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r447_owner;
CREATE ROLE r447_other;
SELECT format('GRANT CREATE ON DATABASE %I TO r447_owner, r447_other', current_database()) \gexec
CREATE SCHEMA s447 AUTHORIZATION r447_owner;
GRANT USAGE, CREATE ON SCHEMA s447 TO r447_other;
SET ROLE r447_owner;
-- Who ran the owner's code: a row per call of its domains' CHECK.
CREATE TABLE s447.ran (who name, super boolean);
GRANT INSERT ON s447.ran TO PUBLIC;
CREATE FUNCTION s447.note() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO s447.ran
    SELECT current_user, r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user;
    RETURN true;
END $$;
CREATE DOMAIN s447.d AS int CHECK (s447.note());
CREATE TYPE s447.c AS (a s447.d, b int);
CREATE TYPE s447.r AS RANGE (subtype = s447.d);
CREATE TABLE s447.t (id int PRIMARY KEY, k s447.d, ka s447.d[], kc s447.c, kr s447.r) USING steward;
INSERT INTO s447.t SELECT g, g, ARRAY[g], ROW(g::s447.d, g)::s447.c, s447.r(g, g + 1) FROM generate_series(1, 6) g;
CREATE TABLE s447.t2 (k s447.d PRIMARY KEY, y int);
INSERT INTO s447.t2 SELECT g, g FROM generate_series(1, 6) g;
-- A state machine on a table keyed by the domain, with columns of it.
CREATE TABLE s447.t3 (id s447.d PRIMARY KEY, st text, k s447.d, ka s447.d[]) USING steward;
INSERT INTO s447.t3 SELECT g, 'a', g, ARRAY[g] FROM generate_series(1, 6) g;
SELECT steward.create_state_machine('m447', states => ARRAY['a', 'b'], initial => ARRAY['a'], transitions => ARRAY['a->b']);
SELECT steward.attach_state_machine('s447.t3', 'st', 'm447');
-- A partitioned table with a partition of another owner (merge_ranges).
CREATE TABLE s447.p (id int PRIMARY KEY, kr s447.r) PARTITION BY RANGE (id);
CREATE TABLE s447.p1 PARTITION OF s447.p FOR VALUES FROM (0) TO (10);
SET ROLE r447_other;
CREATE TABLE s447.p2 (id int NOT NULL, kr s447.r);
RESET ROLE;
ALTER TABLE s447.p ATTACH PARTITION s447.p2 FOR VALUES FROM (10) TO (20);
SET ROLE r447_owner;
INSERT INTO s447.p SELECT g, s447.r(g, g + 1) FROM generate_series(1, 18) g;
RESET ROLE;
TRUNCATE s447.ran;
-- After each step: how often the owner's code ran as another role.
\set seen 'SELECT count(*) > 0 AS ran, count(*) FILTER (WHERE who <> ''r447_owner'') AS as_another_role, count(*) FILTER (WHERE super) AS as_superuser FROM s447.ran; TRUNCATE s447.ran;'
-- 1. verify and checksum_ranges read keys of the owner's types back.
SELECT count(*) > 0 AS ok FROM steward.checksum_ranges('s447.t', 'k', 4);
SELECT count(*) > 0 AS ok FROM steward.checksum_ranges('s447.t', 'ka', 4);
SELECT count(*) > 0 AS ok FROM steward.checksum_ranges('s447.t', 'kc', 4);
SELECT count(*) > 0 AS ok FROM steward.checksum_ranges('s447.t', 'kr', 4);
SELECT count(*) > 0 AS ok FROM steward.checksum_ranges('s447.p', 'kr', 2);
SELECT count(*) > 0 AS ok FROM steward.verify('s447.t');
SELECT count(*) > 0 AS ok FROM steward.verify('s447.p');
:seen
-- 2. A state check naming the domain, set by the superuser; validate;
-- run_transition in batches of 2 (the resume key is read back as d) with
-- literals of d and d[] in set_sql; the views.
SELECT steward.set_state_check('s447.t3', 'b', $q$SELECT count(*) FROM s447.t3 WHERE st = 'b' AND ka = '{0}'$q$);
SELECT state, passed, violations FROM steward.validate('s447.t3');
CALL steward.run_transition('s447.t3', 'a', 'b', $q$k = '7', ka = '{7}'$q$, 2);
SELECT state, passed, violations FROM steward.validate('s447.t3');
SELECT state, rows FROM steward.state_counts WHERE relid = 's447.t3'::regclass ORDER BY state;
:seen
-- 3. A label naming the domain in a check, as pg_restore applies it.
SECURITY LABEL FOR steward ON COLUMN s447.t3.st IS
    '{"v": 1, "kind": "state", "machine": "m447", "states": ["a", "b"], "initial": ["a"], "transitions": ["a->b"], "checks": {"b": "SELECT count(*) FROM s447.t3 WHERE st = ''b'' AND ka = ''{1}''"}}';
:seen
-- 4. relayouts by LIST and RANGE of a key of type d, by the superuser:
-- the bounds are literals of d.
SELECT steward.migration_start('m447l', $j$[{"relayout": {"table": "s447.t2", "partition_by": "LIST (k)",
  "partitions": [{"in": ["1", "2", "3"]}, {"in": ["4", "5", "6"]}, {"default": true}]}}]$j$);
CALL steward.migration_backfill('m447l');
SELECT bool_and(passed) AS passed FROM steward.migration_validate('m447l');
SELECT steward.migration_complete('m447l');
SELECT steward.migration_rollback('m447l');
SELECT steward.migration_start('m447r', $j$[{"relayout": {"table": "s447.t2", "partition_by": "RANGE (k)",
  "partitions": [{"from": [null], "to": ["4"]}, {"from": ["4"], "to": [null]}]}}]$j$);
CALL steward.migration_backfill('m447r');
SELECT bool_and(passed) AS passed FROM steward.migration_validate('m447r');
SELECT steward.migration_complete('m447r');
SELECT steward.migration_cleanup('m447r');
:seen
-- 5. alter_column from the domain to bigint, by the superuser.
SELECT steward.migration_start('m447a', $j$[{"alter_column": {"table": "s447.t", "column": "k", "type": "bigint"}}]$j$);
CALL steward.migration_backfill('m447a');
SELECT bool_and(passed) AS passed FROM steward.migration_validate('m447a');
SELECT steward.migration_complete('m447a');
SELECT steward.migration_rollback('m447a');
:seen

SET client_min_messages = warning;
SELECT steward.detach_state_machine('s447.t3', 'st');
SELECT steward.drop_state_machine('m447');
DROP SCHEMA s447 CASCADE;
RESET client_min_messages;
SELECT format('REVOKE CREATE ON DATABASE %I FROM r447_owner, r447_other', current_database()) \gexec
DROP ROLE r447_owner;
DROP ROLE r447_other;

-- This file's migration records go (465_zz_leftovers).
CREATE TEMP TABLE gone (name) AS VALUES ('m447a'), ('m447l'), ('m447r');
\i test/sql/drop_migration_records.sql
