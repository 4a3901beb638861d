-- A table's REPLICA IDENTITY USING INDEX follows the column migration
-- that replaces a column of the index (relay2): migration_start refused
-- it (55000, HINT: REPLICA IDENTITY DEFAULT for the migration), which
-- changed the old key columns logical replication sends (a subscriber
-- whose identity is the same index then fails "publisher did not send
-- replica identity column").  Now start records the index when a key
-- of the steps replaces it (the step's "unique", or the carried UNIQUE
-- constraint, over the same columns of the new shape, the new column
-- NOT NULL), complete moves the identity to that key in the transaction
-- that switches the publications' column lists to the new shape, a
-- rollback after complete moves it back, and the cleanup keeps it (the
-- key takes the old name back).  Published for UPDATE and DELETE, the
-- table's updates and deletes work at every step.  Still refused at
-- start (55000), with the reason in the DETAIL and the way out in the
-- HINT: a drop_column of an identity column, a step with "unique":
-- false, "not_null": false, or a steward_hash key.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS ri231_app;
RESET client_min_messages;
SET steward.governor = off;
CREATE ROLE ri231_app;
GRANT CREATE ON SCHEMA public TO ri231_app;
SELECT format('GRANT CREATE ON DATABASE %I TO ri231_app', current_database()) \gexec
SET ROLE ri231_app;
CREATE TABLE ri231 (id int PRIMARY KEY, code int NOT NULL CONSTRAINT ri231_code_key UNIQUE, v int) USING steward;
INSERT INTO ri231 SELECT g, 100 + g, g FROM generate_series(1, 10) g;
ALTER TABLE ri231 REPLICA IDENTITY USING INDEX ri231_code_key;
CREATE PUBLICATION ri231_pub FOR TABLE ri231;
CREATE VIEW ri231_identity AS
SELECT c.relreplident, x.relname AS identity_index,
       (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey)) AS identity_columns,
       (SELECT array_to_string(p.attnames, ',') FROM pg_publication_tables p
         WHERE p.pubname = 'ri231_pub' AND p.tablename = 'ri231') AS published
  FROM pg_class c
  LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisreplident
  LEFT JOIN pg_class x ON x.oid = i.indexrelid
 WHERE c.oid = 'ri231'::regclass;

-- 1. Retype code in place (the UNIQUE constraint is carried): start
--    records the identity index, which stays the identity until complete.
SET client_min_messages = error;
SELECT steward.migration_start('ri231_m', $j$[
  {"alter_column": {"table": "ri231", "column": "code", "type": "bigint"}}]$j$);
RESET client_min_messages;
SELECT relid, replica_identity FROM steward.migration_tables WHERE migration = 'ri231_m';
SELECT * FROM ri231_identity;
UPDATE ri231 SET v = v + 1 WHERE id = 1;
DELETE FROM ri231 WHERE id = 2;
SET client_min_messages = error;
CALL steward.migration_backfill('ri231_m');
RESET client_min_messages;
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('ri231_m');
SELECT steward.migration_complete('ri231_m');
-- The identity is the new column's key now, under the new shape's list.
SELECT * FROM ri231_identity;
UPDATE ri231 SET v = v + 1 WHERE id = 3;
DELETE FROM ri231 WHERE id = 4;
-- A rollback after complete moves it back to the old index.
SELECT steward.migration_rollback('ri231_m');
SELECT * FROM ri231_identity;
UPDATE ri231 SET v = v + 1 WHERE id = 5;
DELETE FROM ri231 WHERE id = 6;

-- 2. Again to the cleanup: the identity stays on the key, which takes
--    the old key's name back.
SET client_min_messages = error;
SELECT steward.migration_start('ri231_m2', $j$[
  {"alter_column": {"table": "ri231", "column": "code", "type": "bigint"}}]$j$);
CALL steward.migration_backfill('ri231_m2');
RESET client_min_messages;
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('ri231_m2');
SELECT steward.migration_complete('ri231_m2');
UPDATE ri231 SET v = v + 1 WHERE id = 7;
SELECT steward.migration_cleanup('ri231_m2');
SELECT * FROM ri231_identity;
UPDATE ri231 SET v = v + 1 WHERE id = 8;
DELETE FROM ri231 WHERE id = 9;
SELECT id, code, v FROM ri231 ORDER BY id;

-- 3. A two-column identity index, restated with "with"; the publication
--    publishes inserts only at start and updates from the middle of the
--    migration (accepted: the identity is covered by each shape's list).
CREATE TABLE ri231b (id int PRIMARY KEY, tenant int NOT NULL, ref text NOT NULL, v int) USING steward;
CREATE UNIQUE INDEX ri231b_tenant_ref ON ri231b (tenant, ref);
ALTER TABLE ri231b REPLICA IDENTITY USING INDEX ri231b_tenant_ref;
INSERT INTO ri231b SELECT g, g % 3, 'r' || g, g FROM generate_series(1, 6) g;
CREATE PUBLICATION ri231b_pub FOR TABLE ri231b WITH (publish = 'insert');
SET client_min_messages = error;
SELECT steward.migration_start('ri231_m3', $j$[
  {"alter_column": {"table": "ri231b", "column": "ref", "name": "ref2", "type": "varchar(10)",
                    "unique": {"with": ["tenant"]}}}]$j$);
RESET client_min_messages;
ALTER PUBLICATION ri231b_pub SET (publish = 'insert, update, delete');
UPDATE ri231b SET v = v + 1 WHERE id = 1;
SET client_min_messages = error;
CALL steward.migration_backfill('ri231_m3');
RESET client_min_messages;
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('ri231_m3');
SELECT steward.migration_complete('ri231_m3');
SELECT x.relname AS identity_index,
       (SELECT string_agg(a.attname, ', ' ORDER BY a.attname) FROM pg_attribute a
         WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) AS identity_columns
  FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
 WHERE i.indrelid = 'ri231b'::regclass AND i.indisreplident;
UPDATE ri231b SET v = v + 1 WHERE id = 2;
DELETE FROM ri231b WHERE id = 3;
SELECT steward.migration_cleanup('ri231_m3');
UPDATE ri231b SET v = v + 1 WHERE id = 4;
SELECT id, tenant, ref2, v FROM ri231b ORDER BY id;

-- 4. Set to DEFAULT by the user during the migration: complete leaves it.
CREATE TABLE ri231c (id int PRIMARY KEY, code int NOT NULL UNIQUE, v int);
ALTER TABLE ri231c REPLICA IDENTITY USING INDEX ri231c_code_key;
SET client_min_messages = error;
SELECT steward.migration_start('ri231_m4', $j$[
  {"alter_column": {"table": "ri231c", "column": "code", "type": "bigint"}}]$j$);
RESET client_min_messages;
ALTER TABLE ri231c REPLICA IDENTITY DEFAULT;
SET client_min_messages = error;
CALL steward.migration_backfill('ri231_m4');
RESET client_min_messages;
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('ri231_m4');
SELECT steward.migration_complete('ri231_m4');
SELECT relreplident FROM pg_class WHERE oid = 'ri231c'::regclass;
SELECT steward.migration_rollback('ri231_m4');

-- 4b. The recorded index renamed after complete: a rollback after
--     complete finds it by its columns and puts the identity back on it
--     (relay3; it fell back to the primary key with a WARNING).
ALTER TABLE ri231c REPLICA IDENTITY USING INDEX ri231c_code_key;
SET client_min_messages = error;
SELECT steward.migration_start('ri231_m5', $j$[
  {"alter_column": {"table": "ri231c", "column": "code", "type": "bigint"}}]$j$);
CALL steward.migration_backfill('ri231_m5');
RESET client_min_messages;
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('ri231_m5');
SELECT steward.migration_complete('ri231_m5');
ALTER INDEX ri231c_code_key RENAME TO ri231c_code_renamed;
SELECT steward.migration_rollback('ri231_m5');
SELECT c.relreplident, x.relname FROM pg_class c
  LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisreplident LEFT JOIN pg_class x ON x.oid = i.indexrelid
 WHERE c.oid = 'ri231c'::regclass;

-- 4c. An identity index with INCLUDE columns cannot follow (the key a
--     step builds has none).
CREATE TABLE ri231d (id int PRIMARY KEY, code int NOT NULL, v int);
CREATE UNIQUE INDEX ri231d_code ON ri231d (code) INCLUDE (v);
ALTER TABLE ri231d REPLICA IDENTITY USING INDEX ri231d_code;
SELECT steward.migration_start('ri231_x', $j$[
  {"alter_column": {"table": "ri231d", "column": "code", "type": "bigint", "unique": true}}]$j$);
\echo :LAST_ERROR_SQLSTATE

-- 5. Still refused where the identity cannot follow (55000), with the
--    reason and the way out: no key restated, a nullable new column, a
--    steward_hash key, a drop_column.
SELECT steward.migration_start('ri231_x', $j$[
  {"alter_column": {"table": "ri231", "column": "code", "type": "int", "unique": false}}]$j$);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_start('ri231_x', $j$[
  {"alter_column": {"table": "ri231", "column": "code", "type": "int", "not_null": false}}]$j$);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_start('ri231_x', $j$[
  {"alter_column": {"table": "ri231", "column": "code", "type": "int", "unique": "steward_hash"}}]$j$);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_start('ri231_x', $j$[
  {"drop_column": {"table": "ri231", "column": "code", "down": "id"}}]$j$);
\echo :LAST_ERROR_SQLSTATE
-- Unpublished, the same refusal (the cleanup would drop the index).
ALTER PUBLICATION ri231_pub DROP TABLE ri231;
SELECT steward.migration_start('ri231_x', $j$[
  {"alter_column": {"table": "ri231", "column": "code", "type": "int", "unique": false}}]$j$);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'ri231_x';

DROP PUBLICATION ri231_pub;
DROP PUBLICATION ri231b_pub;
DROP VIEW ri231_identity;
DROP TABLE ri231, ri231b, ri231c, ri231d;
RESET ROLE;
SET client_min_messages = warning;
SELECT format('REVOKE CREATE ON DATABASE %I FROM ri231_app', current_database()) \gexec
REVOKE CREATE ON SCHEMA public FROM ri231_app;
DROP OWNED BY ri231_app;
DROP ROLE ri231_app;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('ri231_m'), ('ri231_m2'), ('ri231_m3'),
    ('ri231_m4'), ('ri231_m5');
\i test/sql/drop_migration_records.sql
