-- A rollback after complete puts the replica identity back on the old
-- index found by what it is, not by the name start recorded (review24
-- V2): the record keeps a name (it is dumped as data, before the
-- indexes), and ALTER INDEX ... RENAME passes the DDL guard, so after
-- `ALTER INDEX r243_code_key RENAME TO ...` and an index made under the
-- old name over another column the identity silently landed on that
-- column (subscribers keyed on code stopped applying), and with a
-- non-unique index under the old name the rollback failed 42809 with no
-- HINT.  Now the identity goes back to the unique index over the old
-- columns (renamed or not), complete follows a recorded index renamed before it (relay2's
-- leftover: it left the identity on the old column, which the new
-- shape's column list leaves out, and UPDATE failed), and with no such
-- index left the identity is DEFAULT with a WARNING whose HINT gives the
-- statements to run.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS r243_app;
RESET client_min_messages;
SET steward.governor = off;
CREATE ROLE r243_app;
GRANT CREATE ON SCHEMA public TO r243_app;
SELECT format('GRANT CREATE ON DATABASE %I TO r243_app', current_database()) \gexec
SET ROLE r243_app;
CREATE FUNCTION r243_identity(rel regclass) RETURNS TABLE (relreplident "char", identity_index name, identity_columns text)
LANGUAGE sql AS $$
    SELECT c.relreplident, x.relname,
           (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
              FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey))
      FROM pg_class c
      LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisreplident
      LEFT JOIN pg_class x ON x.oid = i.indexrelid
     WHERE c.oid = rel
$$;
\i test/sql/migration_to_complete.sql
CREATE TABLE r243 (id int PRIMARY KEY, code int NOT NULL CONSTRAINT r243_code_key UNIQUE, w int NOT NULL, v int) USING steward;
INSERT INTO r243 SELECT g, 100 + g, g, g FROM generate_series(1, 10) g;
ALTER TABLE r243 REPLICA IDENTITY USING INDEX r243_code_key;
CREATE PUBLICATION r243_pub FOR TABLE r243;

-- 1. The finding: after complete the recorded index is renamed and a
--    unique index over w takes its name; the rollback puts the identity
--    on the renamed index over code, not on w.
SET client_min_messages = error;
SELECT steward.migration_start('r243_m1', $j$[
  {"alter_column": {"table": "r243", "column": "code", "type": "bigint"}}]$j$);
RESET client_min_messages;
CALL pg_temp.migration_to_complete('r243_m1');
SELECT * FROM r243_identity('r243');
ALTER INDEX r243_code_key RENAME TO r243_code_key_kept;
CREATE UNIQUE INDEX r243_code_key ON r243 (w);
SELECT steward.migration_rollback('r243_m1');
SELECT * FROM r243_identity('r243');
UPDATE r243 SET v = v + 1 WHERE id = 1;
DELETE FROM r243 WHERE id = 2;
DROP INDEX r243_code_key;
ALTER INDEX r243_code_key_kept RENAME TO r243_code_key;

-- 2. A non-unique index under the old name (the rollback failed 42809,
--    "index ... cannot be used as replica identity because ..."):
--    the identity goes to the renamed unique one.
SET client_min_messages = error;
SELECT steward.migration_start('r243_m2', $j$[
  {"alter_column": {"table": "r243", "column": "code", "type": "bigint"}}]$j$);
RESET client_min_messages;
CALL pg_temp.migration_to_complete('r243_m2');
ALTER INDEX r243_code_key RENAME TO r243_code_key_kept;
CREATE INDEX r243_code_key ON r243 (w);
SELECT steward.migration_rollback('r243_m2');
SELECT * FROM r243_identity('r243');
UPDATE r243 SET v = v + 1 WHERE id = 3;
DROP INDEX r243_code_key;
ALTER INDEX r243_code_key_kept RENAME TO r243_code_key;

-- 3. Renamed before complete (relay2's leftover): complete moves the
--    identity from it all the same (UPDATE failed: the new shape's list
--    left the old column out), and the rollback brings it back to it.
SET client_min_messages = error;
SELECT steward.migration_start('r243_m3', $j$[
  {"alter_column": {"table": "r243", "column": "code", "type": "bigint"}}]$j$);
RESET client_min_messages;
ALTER INDEX r243_code_key RENAME TO r243_code_key_early;
CALL pg_temp.migration_to_complete('r243_m3');
SELECT * FROM r243_identity('r243');
UPDATE r243 SET v = v + 1 WHERE id = 4;
DELETE FROM r243 WHERE id = 5;
SELECT steward.migration_rollback('r243_m3');
SELECT * FROM r243_identity('r243');
UPDATE r243 SET v = v + 1 WHERE id = 6;
ALTER INDEX r243_code_key_early RENAME TO r243_code_key;

-- 4. No unique index over code left (only a superuser going around the
--    DDL guard can drop it): DEFAULT, and the WARNING's HINT, run as
--    written, makes the key the identity again.
CREATE TABLE r243b (id int PRIMARY KEY, code int NOT NULL, v int) USING steward;
CREATE UNIQUE INDEX r243b_code ON r243b (code);
ALTER TABLE r243b REPLICA IDENTITY USING INDEX r243b_code;
INSERT INTO r243b SELECT g, 100 + g, g FROM generate_series(1, 5) g;
SET client_min_messages = error;
SELECT steward.migration_start('r243_m4', $j$[
  {"alter_column": {"table": "r243b", "column": "code", "type": "bigint", "unique": true}}]$j$);
RESET client_min_messages;
CALL pg_temp.migration_to_complete('r243_m4');
SELECT * FROM r243_identity('r243b');
RESET ROLE;
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
DROP INDEX r243b_code;
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
SET ROLE r243_app;
SELECT steward.migration_rollback('r243_m4');
SELECT * FROM r243_identity('r243b');
CREATE UNIQUE INDEX r243b_code ON public.r243b (code); ALTER TABLE public.r243b REPLICA IDENTITY USING INDEX r243b_code;
SELECT * FROM r243_identity('r243b');

SELECT id, code, w, v FROM r243 ORDER BY id;
RESET ROLE;
DROP PUBLICATION r243_pub;
DROP TABLE r243, r243b;
DROP FUNCTION r243_identity(regclass);
DROP PROCEDURE pg_temp.migration_to_complete(text);
SELECT format('REVOKE CREATE ON DATABASE %I FROM r243_app', current_database()) \gexec
REVOKE CREATE ON SCHEMA public FROM r243_app;
DROP ROLE r243_app;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r243_m1'), ('r243_m2'), ('r243_m3'), ('r243_m4');
\i test/sql/drop_migration_records.sql
