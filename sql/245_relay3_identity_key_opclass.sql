-- The key a step builds to take over the replica identity at complete
-- is a btree with each column's default operator class and collation
-- (relay2's leftover): an identity index with another operator class or
-- collation was followed all the same, and from complete the table's
-- key (and a subscriber matching rows by it) enforced another equality
-- than before, without a word.  migration_start now refuses it (55000),
-- the DETAIL naming the columns and the HINT the ways out; an index with
-- the defaults written out still follows.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
CREATE TABLE r245 (id int PRIMARY KEY, code text NOT NULL, v int) USING steward;
INSERT INTO r245 SELECT g, 'c' || g, g FROM generate_series(1, 5) g;

-- 1. An operator class other than the default.
CREATE UNIQUE INDEX r245_code_pattern ON r245 (code text_pattern_ops);
ALTER TABLE r245 REPLICA IDENTITY USING INDEX r245_code_pattern;
SELECT steward.migration_start('r245_m1', $j$[
  {"alter_column": {"table": "r245", "column": "code", "type": "varchar(20)", "unique": true}}]$j$);

-- 2. A collation other than the column's.
CREATE UNIQUE INDEX r245_code_c ON r245 (code COLLATE "C");
ALTER TABLE r245 REPLICA IDENTITY USING INDEX r245_code_c;
SELECT steward.migration_start('r245_m2', $j$[
  {"alter_column": {"table": "r245", "column": "code", "type": "varchar(20)", "unique": true}}]$j$);

-- 3. The defaults written out: followed, as any plain index.
CREATE UNIQUE INDEX r245_code_plain ON r245 (code COLLATE "default" text_ops);
ALTER TABLE r245 REPLICA IDENTITY USING INDEX r245_code_plain;
SET client_min_messages = error;
SELECT steward.migration_start('r245_m3', $j$[
  {"alter_column": {"table": "r245", "column": "code", "type": "varchar(20)", "unique": true}}]$j$);
RESET client_min_messages;
SELECT relid, replica_identity FROM steward.migration_tables WHERE migration = 'r245_m3';
SELECT steward.migration_rollback('r245_m3');

DROP TABLE r245;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r245_m3');
\i test/sql/drop_migration_records.sql
