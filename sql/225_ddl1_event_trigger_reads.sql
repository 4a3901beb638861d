-- What the event triggers read for DDL that touches no steward object
-- (ddl1; test/bench/ddl): the relayout guard's read of the migration
-- that changes a table runs only for a table with an active migration
-- entry (one index probe finds none otherwise), and the storage guard's
-- read of the collected commands is planned once per backend (it was
-- parsed and planned at every CREATE and ALTER TABLE).  Plans a backend
-- keeps are counted in pg_backend_memory_contexts (one CachedPlanSource
-- each, the statement's text as ident).
-- 1. ALTER TABLE ADD / DROP COLUMN of a table no migration changes, in a
--    new backend: the storage guard's read is kept once; the migration
--    read never ran.
-- 2. The same table under a column migration started in the same
--    transaction: ALTER TABLE is refused (55006) as before, by the read
--    it now runs.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
CREATE TABLE t225 (id int PRIMARY KEY, v int);
INSERT INTO t225 SELECT g, g FROM generate_series(1, 10) g;
CREATE VIEW reads225 AS
SELECT read, count(*) AS plans
  FROM (SELECT CASE WHEN ident LIKE 'SELECT c.command%FROM pg_catalog.pg_event_trigger_ddl_commands() c%'
                    THEN 'storage guard: collected commands'
                    WHEN ident LIKE 'SELECT t.migration, t.relid::pg_catalog.oid, x.relayout%'
                    THEN 'relayout guard: migration of a table' END AS read
          FROM pg_backend_memory_contexts
         WHERE name = 'CachedPlanSource') s
 WHERE read IS NOT NULL
 GROUP BY read ORDER BY read;

-- part 1: a new backend; three rounds of ADD + DROP COLUMN
\c
SET steward.governor = off;
SELECT * FROM reads225;
ALTER TABLE t225 ADD COLUMN c int;
ALTER TABLE t225 DROP COLUMN c;
ALTER TABLE t225 ADD COLUMN c int;
ALTER TABLE t225 DROP COLUMN c;
ALTER TABLE t225 ADD COLUMN c int;
ALTER TABLE t225 DROP COLUMN c;
SELECT * FROM reads225;

-- part 2: under a column migration (started in this transaction: the
-- probe sees it as the read did) the guard reads and refuses
BEGIN;
SELECT steward.migration_start('m225', $$[{"add_column": {"table": "t225", "column": "w", "type": "int", "up": "v"}}]$$);
SAVEPOINT s1;
ALTER TABLE t225 ADD COLUMN c int;
ROLLBACK TO SAVEPOINT s1;
ALTER TABLE t225 DROP COLUMN v;
ROLLBACK TO SAVEPOINT s1;
SELECT * FROM reads225;
ROLLBACK;
ALTER TABLE t225 ADD COLUMN c int;
ALTER TABLE t225 DROP COLUMN c;

DROP VIEW reads225;
DROP TABLE t225;
