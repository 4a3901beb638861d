-- A relayout's messages printed their counts with plural nouns whatever
-- the count: validate's "1 rows of relation ... are not in relation ...
-- yet", "1 rows in relation ...", "1 of 1 key ranges disagree (range ...:
-- 1 old / 0 new rows, ...)", "1 key ranges: counts and checksums ...
-- agree", its hottest keys "(1 updates, ...)", cleanup's refusal
-- "relation ... holds 1 rows", and a start's DETAIL "Their partition key
-- values are outside ..." of one row (relayout51, 2).  Each now agrees
-- with its count; here each shows with a count of one, and with more.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r463;
SET search_path = r463, public;
CREATE TABLE t (id int PRIMARY KEY, v int) USING steward;
INSERT INTO t VALUES (1, 0);
SELECT steward.migration_start('r463_m', '[{"relayout": {"table": "t", "partition_by": "HASH (id)", "partitions": 2}}]');
-- One row not copied yet.
SELECT "check", passed, detail FROM steward.migration_validate('r463_m')
 WHERE "check" ~ '^(backfill|rows|values|checksums)' ORDER BY 1;
CALL steward.migration_backfill('r463_m');
-- One key, updated once; one key range.
UPDATE t SET v = 1 WHERE id = 1;
SELECT "check", passed, detail FROM steward.migration_validate('r463_m')
 WHERE "check" ~ '^(checksums|values|rows)' ORDER BY 1;
SELECT regexp_replace(detail, '^.*hottest keys: ', '') AS hottest
  FROM steward.migration_validate('r463_m') WHERE "check" LIKE 'distribution%';
-- A row that reached the old layout only, as regress 83 makes it (an
-- INSERT with check_function_bodies = off): one of two key ranges
-- disagrees.
SET check_function_bodies = off;
INSERT INTO t VALUES (2, 0);
RESET check_function_bodies;
SELECT "check", passed, detail FROM steward.migration_validate('r463_m')
 WHERE "check" ~ '^(backfill|rows|values|checksums)' ORDER BY 1;
CALL steward.migration_backfill('r463_m');
SELECT bool_and(passed) FROM steward.migration_validate('r463_m') WHERE "check" NOT LIKE 'partition %';
SELECT steward.migration_rollback('r463_m');
-- Cleanup refused: one row, then two, written to the old layout only
-- after the cutover.
DELETE FROM t;
SELECT steward.migration_start('r463_e', '[{"relayout": {"table": "t", "partition_by": "HASH (id)", "partitions": 2}}]');
CALL steward.migration_backfill('r463_e');
SELECT bool_and(passed) FROM steward.migration_validate('r463_e') WHERE "check" NOT LIKE 'partition %';
SELECT steward.migration_complete('r463_e');
SET check_function_bodies = off;
INSERT INTO t_relayout_old VALUES (5, 5);
RESET check_function_bodies;
SELECT steward.migration_cleanup('r463_e');
SET check_function_bodies = off;
INSERT INTO t_relayout_old VALUES (6, 6);
RESET check_function_bodies;
SELECT steward.migration_cleanup('r463_e');
SELECT steward.migration_rollback('r463_e');
-- A start refused: one row, then two, outside every RANGE bound.
CREATE TABLE ev (id int PRIMARY KEY, v int) USING steward;
INSERT INTO ev VALUES (1, 1), (500, 1);
SELECT steward.migration_start('r463_r', '[{"relayout": {"table": "ev", "partition_by": "RANGE (id)",
    "partitions": [{"from": [0], "to": [100]}]}}]');
INSERT INTO ev VALUES (600, 1);
SELECT steward.migration_start('r463_r', '[{"relayout": {"table": "ev", "partition_by": "RANGE (id)",
    "partitions": [{"from": [0], "to": [100]}]}}]');
RESET search_path;
DROP SCHEMA r463 CASCADE;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r463_m'), ('r463_e'), ('r463_r');
\i test/sql/drop_migration_records.sql
