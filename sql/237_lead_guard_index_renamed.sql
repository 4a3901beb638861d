-- codereview10 C3: since 78a48dd the DDL guards first probe the index
-- steward.migration_tables_one_active for an active migration of the
-- table, and took a missing index (renamed or dropped by the catalog's
-- owner) as "no migration": every guard was skipped.  A missing index now
-- means the full read runs.  codereview10 C5: steward._relation_name of a
-- relation gone gives its OID, not NULL.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
CREATE TABLE t237 (id int PRIMARY KEY, v int);
INSERT INTO t237 SELECT g, g FROM generate_series(1, 10) g;
BEGIN;
ALTER INDEX steward.migration_tables_one_active RENAME TO migration_tables_one_active_237;
SELECT steward.migration_start('m237', $$[{"add_column": {"table": "t237", "column": "w", "type": "int", "up": "v"}}]$$);
-- Refused as with the index in place (55006), not let through.
SAVEPOINT s1;
ALTER TABLE t237 DROP COLUMN v;
ROLLBACK TO SAVEPOINT s1;
ALTER TABLE t237 ADD COLUMN c int;
ROLLBACK;
SELECT count(*) AS index_back FROM pg_class
 WHERE relname = 'migration_tables_one_active' AND relnamespace = 'steward'::regnamespace;
-- C5
CREATE TABLE t237_gone (x int);
SELECT 't237_gone'::regclass::oid AS gone_oid \gset
DROP TABLE t237_gone;
SELECT steward._relation_name(:gone_oid) = :'gone_oid' AS oid_for_gone,
       steward._relation_name('t237'::regclass) AS name;
DROP TABLE t237;
