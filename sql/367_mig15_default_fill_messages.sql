-- newcomer45 N10: a backfill that failed on a row while filling a column
-- from its "default" (an add_column with no "up") said the migration
-- computes the new columns "from its up expressions" and hinted to
-- "start with an up that handles it": the DETAIL and HINT now name the
-- "default" (and both, when the table has ups and defaults).
--
-- A new-shape INSERT (or UPDATE) of an explicit NULL into the new column
-- of a "not_null" step was refused with 23514 naming the NOT VALID check
-- that stands for the constraint until complete, where the column the
-- application sees as NOT NULL gives 23502, as it does after complete:
-- now 23502 with core's wording.
\set SHOW_CONTEXT never
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE m15f (id bigint PRIMARY KEY, amt numeric) USING steward;
INSERT INTO m15f SELECT g, g FROM generate_series(1, 10) g;
-- Only a default: the check refuses row 5 once lvl is filled.
SELECT steward.migration_start('m15f_def', $$[
  {"add_column": {"table": "m15f", "column": "lvl", "type": "int", "default": "5", "check": "lvl > id"}}]$$);
CALL steward.migration_backfill('m15f_def');
SELECT steward.migration_rollback('m15f_def');
-- A default and an up.
SELECT steward.migration_start('m15f_both', $$[
  {"alter_column": {"table": "m15f", "column": "amt", "name": "cents", "type": "bigint",
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}},
  {"add_column": {"table": "m15f", "column": "lvl", "type": "int", "default": "5", "check": "lvl > id"}}]$$);
CALL steward.migration_backfill('m15f_both');
SELECT steward.migration_rollback('m15f_both');
-- Only ups: as before.
SELECT steward.migration_start('m15f_up', $$[
  {"add_column": {"table": "m15f", "column": "lvl", "type": "int", "up": "5", "check": "lvl > id"}}]$$);
CALL steward.migration_backfill('m15f_up');
SELECT steward.migration_rollback('m15f_up');

-- not_null: an explicit NULL in the new shape is 23502, as after complete.
SELECT steward.migration_start('m15f_nn', $$[
  {"alter_column": {"table": "m15f", "column": "amt", "name": "cents", "type": "bigint", "not_null": true,
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}},
  {"add_column": {"table": "m15f", "column": "tag", "type": "text", "default": "'t'", "not_null": true}}]$$);
SET search_path = m15f_nn, public;
INSERT INTO m15f (id, cents) VALUES (20, NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO m15f (id, cents, tag) VALUES (21, 2100, NULL);
\echo :LAST_ERROR_SQLSTATE
-- A row not backfilled yet: the UPDATE that sets tag NULL is refused the same way.
UPDATE m15f SET tag = NULL WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO m15f (id, cents) VALUES (22, 2200);
RESET search_path;
-- The old shape: up giving NULL still names the migration (23514).
INSERT INTO m15f (id, amt) VALUES (23, NULL);
\echo :LAST_ERROR_SQLSTATE
CALL steward.migration_backfill('m15f_nn');
SET search_path = m15f_nn, public;
UPDATE m15f SET cents = NULL WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
RESET search_path;
SELECT count(*) FROM steward.migration_validate('m15f_nn') WHERE NOT passed;
SELECT steward.migration_complete('m15f_nn');
-- After complete the table is the new shape and its NOT NULL is core's: the same error.
INSERT INTO m15f (id, cents) VALUES (24, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_cleanup('m15f_nn');
SELECT id, cents, tag FROM m15f WHERE id >= 20 ORDER BY id;
DROP TABLE m15f;

-- newcomer45 N9: new-shape reads of the stored rows saw NULL in an added
-- column until the backfill reached them, even for a constant default,
-- where ALTER TABLE ... ADD COLUMN ... DEFAULT 7 makes every row read 7 at
-- once, with no rewrite.  An immutable default with no "up" now goes
-- into the ADD COLUMN itself (PostgreSQL's missing value): the rows read
-- it at once and the table is not rewritten.  A default that is not
-- immutable (now(), random()) or of a domain with constraints (ADD
-- COLUMN would rewrite the table) is still written by the backfill.
CREATE DOMAIN m15_pos AS int CHECK (VALUE > 0);
CREATE TABLE m15n (id bigint PRIMARY KEY, v int) USING steward;
INSERT INTO m15n SELECT g, g FROM generate_series(1, 5) g;
SELECT pg_relation_filenode('m15n') AS node \gset
SELECT steward.migration_start('m15n', $$[
  {"add_column": {"table": "m15n", "column": "seven", "type": "int", "default": "3 + 4", "not_null": true}},
  {"add_column": {"table": "m15n", "column": "label", "type": "text", "default": "upper('x')"}},
  {"add_column": {"table": "m15n", "column": "at", "type": "timestamptz", "default": "now()"}},
  {"add_column": {"table": "m15n", "column": "r", "type": "float8", "default": "random()"}},
  {"add_column": {"table": "m15n", "column": "up7", "type": "int", "up": "v", "default": "7"}}]$$);
SELECT pg_relation_filenode('m15n') = :node AS not_rewritten;
SELECT attname, atthasmissing FROM pg_attribute
 WHERE attrelid = 'm15n'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT id, seven, label, at IS NULL AS at_null, r IS NULL AS r_null, up7
  FROM m15n.m15n ORDER BY id;
-- Old- and new-shape writes are as before.
INSERT INTO m15n (id, v) VALUES (6, 6);
UPDATE m15n SET v = 20 WHERE id = 2;
CALL steward.migration_backfill('m15n');
SELECT id, seven, label, at IS NULL AS at_null, r IS NULL AS r_null, up7, _steward_side
  FROM m15n ORDER BY id;
SELECT "check", passed FROM steward.migration_validate('m15n') ORDER BY "check";
SELECT steward.migration_rollback('m15n');
SELECT attname FROM pg_attribute
 WHERE attrelid = 'm15n'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
-- A domain with constraints: ADD COLUMN checks the stored rows (a
-- rewrite, default or not), which start refuses on a table holding rows
-- (0A000, mig17; regress 382).
SELECT steward.migration_start('m15n_dom', $$[
  {"add_column": {"table": "m15n", "column": "pos", "type": "m15_pos", "default": "1"}}]$$);
DROP TABLE m15n;
DROP DOMAIN m15_pos;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m15f_def'), ('m15f_both'), ('m15f_up'),
    ('m15f_nn'), ('m15n');
\i test/sql/drop_migration_records.sql
