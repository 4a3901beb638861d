-- What pg_steward's PL/pgSQL event-trigger handlers run for DDL that
-- touches no steward object (ddl2; test/bench/ddl): one read each, no
-- write.  On DROP COLUMN and DROP INDEX the migration handler called
-- _migration_tables_dropped with nothing dropped (three UPDATEs and a
-- DELETE); the rule, table and create handlers wrote (DELETE, UPDATE)
-- with no row to match.  Statements run inside the handlers are counted
-- by steward.statements under steward.track = all (toplevel false).
-- 1. ADD + DROP COLUMN, CREATE + DROP INDEX, CREATE + DROP TABLE of
--    tables no rule, migration or setting names: no handler writes.
-- 2. What the skipped writes kept: a table dropped under a migration
--    fails it and leaves no OID behind; a dropped table's retention and
--    a dropped column's rule go; a renamed column's rule follows; a type
--    change through a parent without rules is refused for its child's
--    version rule; a CHECK on a version column is refused.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
CREATE TABLE t232 (id int PRIMARY KEY, v int);

-- part 1
SELECT steward.reset() IS NOT NULL AS reset;
SET steward.track = 'all';
ALTER TABLE t232 ADD COLUMN c int;
ALTER TABLE t232 DROP COLUMN c;
CREATE INDEX t232_v ON t232 (v);
DROP INDEX t232_v;
CREATE TABLE t232_x (id int PRIMARY KEY, a text);
DROP TABLE t232_x;
RESET steward.track;
-- The handlers' statements: those that read the event's objects or the
-- arrays built from them (no other statement has these texts).
CREATE TEMP VIEW handler232 AS
SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 72) AS statement, calls
  FROM steward.statements
 WHERE NOT toplevel
   AND (query LIKE '%pg_event_trigger_%' OR query ~ 'ANY \((relids|dropped|tree)\)'
        OR query LIKE '%_migration_tables_dropped%');
SELECT statement, sum(calls) AS calls FROM handler232
 GROUP BY statement ORDER BY statement COLLATE "C";
SELECT count(*) AS handler_writes FROM handler232 WHERE statement ~* '^\s*(UPDATE|DELETE)\s';

-- part 2: a table dropped under a column migration
CREATE TABLE t232m (id int PRIMARY KEY, v int);
SELECT steward.migration_start('m232', $$[{"add_column": {"table": "t232m", "column": "w", "type": "int", "up": "v"}}]$$) IS NOT NULL AS started;
DROP TABLE t232m CASCADE;
SELECT status, failed, error FROM steward.migration_runs WHERE name = 'm232';
SELECT relid IS NULL AS relid_cleared, active FROM steward.migration_tables WHERE migration = 'm232';
SELECT count(*) AS column_rows FROM steward.migration_columns WHERE migration = 'm232';

-- a dropped table's retention setting
CREATE TABLE t232s (id int PRIMARY KEY);
SELECT steward.set_retention('t232s', interval '30 days') IS NOT NULL AS set;
SELECT count(*) AS retention_rows FROM steward.table_retention WHERE relid = 't232s'::regclass;
DROP TABLE t232s;
SELECT count(*) AS retention_rows FROM steward.table_retention r
 WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = r.relid);

-- rules: rename follows, a CHECK on the version is refused, drop removes
CREATE TABLE t232r (id int PRIMARY KEY, version bigint, n int) USING steward;
SELECT steward.track_versions('t232r', 'version');
ALTER TABLE t232r RENAME COLUMN version TO ver;
SELECT attname FROM steward.column_rules WHERE relid = 't232r'::regclass;
ALTER TABLE t232r ADD CONSTRAINT t232r_ver CHECK (ver > 0);
ALTER TABLE t232r DROP COLUMN n;
SELECT count(*) AS rules FROM steward.column_rules WHERE relid = 't232r'::regclass;
ALTER TABLE t232r DROP COLUMN ver;
SELECT count(*) AS rules FROM steward.column_rules WHERE relid = 't232r'::regclass;

-- a parent without rules whose child has one
CREATE TABLE t232p (id int PRIMARY KEY, version bigint);
CREATE TABLE t232c () INHERITS (t232p) USING steward;
SELECT steward.track_versions('t232c', 'version');
ALTER TABLE t232p ALTER COLUMN version TYPE int;
DROP TABLE t232p CASCADE;
SELECT count(*) AS rules_of_dropped FROM steward.column_rules r
 WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = r.relid);

DROP VIEW handler232;
DROP TABLE t232r;
DROP TABLE t232;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m232');
\i test/sql/drop_migration_records.sql
