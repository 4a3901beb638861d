-- newcomer48 N9: migration_validate reported passed = t for checks it did
-- not judge: a create_index step's latency ("not judged": too few calls)
-- and a relayout's distribution and partitions under the floor ("too few
-- to judge").  verify() says NULL of a check it did not make; validate
-- now does too, and complete does not block on it.  The details read
-- "1 row", "1 write", "1 call" (they read "1 rows and 0 writes").
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA p441;
CREATE TABLE p441.one (id bigint PRIMARY KEY, tenant int NOT NULL) USING steward;
INSERT INTO p441.one VALUES (1, 7);

-- A relayout of one row: its shares are not judged.
SELECT steward.migration_start('p441_rl', $$[
  {"relayout": {"table": "p441.one", "partition_by": "HASH (id)", "partitions": 2}}]$$);
CALL steward.migration_backfill('p441_rl');
SELECT "check", passed, detail FROM steward.migration_validate('p441_rl')
 WHERE "check" ~ '^(distribution|partition) ' ORDER BY 1;
-- Recorded as not judged, and the validation passed.
SELECT "check", passed FROM steward.migration_validations
 WHERE migration = 'p441_rl' AND passed IS NULL ORDER BY 1;
SELECT phase, error FROM steward.migrations WHERE name = 'p441_rl';
SELECT steward.migration_complete('p441_rl');
SELECT steward.migration_cleanup('p441_rl');
SELECT phase, result FROM steward.migrations WHERE name = 'p441_rl';

-- A create_index step on a table no statement read: latency not judged.
CREATE TABLE p441.t (id int PRIMARY KEY, v int) USING steward;
SELECT steward.migration_start('p441_ix', '[{"create_index": {"table": "p441.t", "name": "t_v", "definition": "(v)"}}]');
CALL steward.migration_backfill('p441_ix');
SELECT "check", passed, detail ~ '^not judged' AS not_judged FROM steward.migration_validate('p441_ix') ORDER BY 1;
SELECT steward.migration_complete('p441_ix');
SELECT phase FROM steward.migrations WHERE name = 'p441_ix';
SELECT steward.migration_cleanup('p441_ix');

-- The call counts' grammar.
SELECT steward._migration_latency_text(1, 0.1, 0.1, 0.1) AS one_call,
       steward._migration_latency_text(2, 0.1, 0.1, 0.1) AS two_calls;

DROP SCHEMA p441 CASCADE;

-- This file's migration records go (465_zz_leftovers).
CREATE TEMP TABLE gone (name) AS VALUES ('p441_ix'), ('p441_rl');
\i test/sql/drop_migration_records.sql
