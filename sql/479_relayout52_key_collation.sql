-- A relayout's partition key takes each column's collation and its type's
-- default operator class; PostgreSQL takes a unique index on a partitioned
-- table only if it has each partition key column with those.  Start
-- matched the unique indexes' columns by name only, so a unique index on
-- the column with another collation (COLLATE "POSIX", a case-insensitive
-- ICU collation) or operator class (record_image_ops) passed its checks
-- and core refused the index on the internal new layout (0A000 naming
-- "..._relayout_new", "lacks column").  Start refuses it now (42P16) with
-- the statements that widen it; an index having the column both ways, a
-- non-default class with the same equality (varchar_pattern_ops) and a
-- domain over text start.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA s479;
SET search_path = s479, public;

CREATE TABLE k479 (id int, code text COLLATE "C", v int, PRIMARY KEY (id, code)) USING steward;
CREATE UNIQUE INDEX k479_code ON k479 (code COLLATE "POSIX");
INSERT INTO k479 SELECT g, 'a' || g, g FROM generate_series(1, 20) g;
SELECT steward.migration_start('m479', $$[{"relayout": {"table": "k479", "partition_by": "HASH (code)", "partitions": 4}}]$$);
SELECT steward.migration_start('m479', $$[{"relayout": {"table": "k479", "partition_by": "RANGE (code)", "partitions": [{"default": true}]}}]$$);
-- Nondeterministic: 'A1' and 'a1' are one value to the index, two to the key.
CREATE COLLATION ci479 (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
DROP INDEX k479_code;
CREATE UNIQUE INDEX k479_code ON k479 (code COLLATE ci479);
SELECT steward.migration_start('m479', $$[{"relayout": {"table": "k479", "partition_by": "LIST (code)", "partitions": [{"default": true}]}}]$$);
SELECT count(*) AS started FROM steward.migrations WHERE name = 'm479';
SELECT count(*) AS new_layouts FROM pg_class WHERE relname LIKE 'k479_relayout%';
-- The HINT's statements, run as printed, make the key start.
CREATE UNIQUE INDEX CONCURRENTLY k479_code_new ON s479.k479 (code COLLATE s479.ci479, code);
DROP INDEX CONCURRENTLY s479.k479_code;
ALTER INDEX s479.k479_code_new RENAME TO k479_code;
SELECT steward.migration_start('m479', $$[{"relayout": {"table": "k479", "partition_by": "LIST (code)", "partitions": [{"default": true}]}}]$$);
CALL steward.migration_backfill('m479');
SELECT count(*) FILTER (WHERE passed IS FALSE) AS failed FROM steward.migration_validate('m479');
SELECT steward.migration_complete('m479');
SELECT pg_get_partkeydef('k479'::regclass) AS key, count(*) FROM k479 GROUP BY 1;
SELECT steward.migration_cleanup('m479');

-- Another operator class: record_image_ops tells apart what = does not.
CREATE TYPE pair479 AS (a numeric, b int);
CREATE TABLE r479 (id int, p pair479, PRIMARY KEY (id, p)) USING steward;
CREATE UNIQUE INDEX r479_p ON r479 (p record_image_ops);
SELECT steward.migration_start('m479r', $$[{"relayout": {"table": "r479", "partition_by": "HASH (p)", "partitions": 2}}]$$);
DROP INDEX r479_p;
CREATE UNIQUE INDEX r479_p ON r479 (id, p record_image_ops, p);
SELECT steward.migration_start('m479r', $$[{"relayout": {"table": "r479", "partition_by": "HASH (p)", "partitions": 2}}]$$);
SELECT steward.migration_rollback('m479r');

-- Same equality as the partition key: started.
CREATE DOMAIN code479 AS text;
CREATE TABLE v479 (id int, code varchar(10), d code479, PRIMARY KEY (id, code, d)) USING steward;
CREATE UNIQUE INDEX v479_code ON v479 (code varchar_pattern_ops, d text_pattern_ops);
SELECT steward.migration_start('m479v', $$[{"relayout": {"table": "v479", "partition_by": "RANGE (code, d)", "partitions": [{"default": true}]}}]$$);
SELECT steward.migration_rollback('m479v');
SELECT steward.migration_start('m479w', $$[{"relayout": {"table": "v479", "partition_by": "HASH (d)", "partitions": 2}}]$$);
SELECT steward.migration_rollback('m479w');

-- A type with no default hash class (bit): refused as such, not as a key
-- lacking the column; RANGE (btree) starts.
CREATE TABLE b479 (id int, b bit(8), PRIMARY KEY (id, b)) USING steward;
INSERT INTO b479 VALUES (1, B'00000001'), (2, B'10000000');
SELECT steward.migration_start('m479b', $$[{"relayout": {"table": "b479", "partition_by": "HASH (b)", "partitions": 2}}]$$);
SELECT steward.migration_start('m479b', $$[{"relayout": {"table": "b479", "partition_by": "RANGE (b)", "partitions": [{"default": true}]}}]$$);
SELECT steward.migration_rollback('m479b');

-- A table with a dropped column (its pg_attribute row has atttypid 0):
-- start compares the unique keys without "cache lookup failed for type 0"
-- (XX000), and the equality lookup answers NULL for a type that does not
-- exist.
CREATE TABLE d479 (id int PRIMARY KEY, gone int, v int) USING steward;
ALTER TABLE d479 DROP COLUMN gone;
INSERT INTO d479 SELECT g, g FROM generate_series(1, 10) g;
SELECT steward.migration_start('m479d', $$[{"relayout": {"table": "d479", "partition_by": "HASH (id)", "partitions": 2}}]$$);
SELECT steward.migration_rollback('m479d');
SELECT steward._relayout_key_eqop(0, 'hash') IS NULL AS no_type;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA s479 CASCADE;
RESET client_min_messages;
CREATE TEMP TABLE gone (name) AS VALUES ('m479'), ('m479r'), ('m479v'), ('m479w'), ('m479b'), ('m479d');
\i test/sql/drop_migration_records.sql
