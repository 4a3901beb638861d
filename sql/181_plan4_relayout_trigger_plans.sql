-- A relayout's apply trigger keeps the plans of its statements for the
-- backend in as_owner.c's table of kept plans (plan4: found by text, row
-- type, table and owner, as a backfill's batches are; was a table of its
-- own per trigger): each of its three statements is planned once for
-- many rows and statements, and the other layout gets every change.
-- After a change of pg_proc (which drops the kept plans of owners'
-- statements) the writes go on and there is still one plan of each text,
-- none left behind.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS r181_alice;
RESET client_min_messages;
CREATE ROLE r181_alice;
GRANT CREATE ON SCHEMA public TO r181_alice;
SELECT format('GRANT CREATE ON DATABASE %I TO r181_alice', current_database()) \gexec

SET ROLE r181_alice;
CREATE TABLE t181 (id int PRIMARY KEY, a int);
INSERT INTO t181 SELECT g, g FROM generate_series(1, 10) g;
SELECT steward.migration_start('m181', '[{"relayout": {"table": "t181", "partition_by": "HASH (id)", "partitions": 2}}]');
INSERT INTO t181 SELECT g, g FROM generate_series(11, 60) g;
INSERT INTO t181 SELECT g, g FROM generate_series(61, 70) g;
UPDATE t181 SET a = a + 1 WHERE id > 20;
UPDATE t181 SET a = a + 1 WHERE id > 50;
DELETE FROM t181 WHERE id > 65;
DELETE FROM t181 WHERE id BETWEEN 31 AND 35;
RESET ROLE;
-- one plan per statement text of the trigger
CREATE VIEW kept181 AS
SELECT CASE WHEN ident LIKE 'INSERT INTO public.t181_relayout_new%' THEN 'insert'
            WHEN ident LIKE 'WITH d AS (DELETE FROM public.t181_relayout_new%' THEN 'update'
            WHEN ident LIKE 'DELETE FROM public.t181_relayout_new%' THEN 'delete' END AS statement,
       count(*) AS plans
  FROM pg_backend_memory_contexts
 WHERE name = 'CachedPlanSource' AND ident LIKE '%public.t181_relayout_new%'
 GROUP BY 1 ORDER BY 1;
SELECT * FROM kept181;
-- the rows written since the start reached the new layout as written
SELECT (SELECT count(*) FROM t181_relayout_new) AS copied,
       (SELECT count(*) FROM t181 o JOIN t181_relayout_new n USING (id)
         WHERE o.a IS DISTINCT FROM n.a) AS differ;
-- a function made: the next writes plan again, one plan of each still
CREATE FUNCTION f181() RETURNS int LANGUAGE sql IMMUTABLE RETURN 1;
SET ROLE r181_alice;
INSERT INTO t181 VALUES (100, 100);
UPDATE t181 SET a = 101 WHERE id = 100;
DELETE FROM t181 WHERE id = 100;
INSERT INTO t181 VALUES (101, 1);
RESET ROLE;
SELECT * FROM kept181;
SELECT (SELECT count(*) FROM t181_relayout_new WHERE id >= 100) AS new_rows;
DROP FUNCTION f181();
DROP VIEW kept181;
SET ROLE r181_alice;
SELECT steward.migration_rollback('m181');
DROP TABLE t181;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM r181_alice;
SELECT format('REVOKE CREATE ON DATABASE %I FROM r181_alice', current_database()) \gexec
DROP ROLE r181_alice;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('m181');
\i test/sql/drop_migration_records.sql
