-- docs/locks.md, "Locks each function takes": the locks each maintenance
-- function holds on the user's table (and, for a relayout, on both
-- layouts) when it returns, read from pg_locks in its own transaction, so
-- held until that transaction ends.  docs/locks.md gives these modes to DBAs
-- planning maintenance; a change of lock mode must change docs/locks.md too.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r319;
CREATE TABLE r319.t (id bigint PRIMARY KEY, status text NOT NULL DEFAULT 'created',
                     amt numeric(12,2) NOT NULL DEFAULT 1, seq bigint NOT NULL DEFAULT 1,
                     version bigint NOT NULL DEFAULT 1) USING steward;
INSERT INTO r319.t (id) SELECT g FROM generate_series(1, 100) g;
CREATE TABLE r319.r (id bigint PRIMARY KEY, version bigint NOT NULL DEFAULT 1) USING steward;
INSERT INTO r319.r (id) SELECT g FROM generate_series(1, 100) g;
SELECT steward.track_versions('r319.r', 'version');
SELECT steward.create_state_machine('r319_m', ARRAY['created', 'paid'], ARRAY['created'],
                                    ARRAY['created->paid']);
-- This backend's granted locks on the tables of schema r319.
CREATE FUNCTION pg_temp.held() RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(DISTINCT c.relname || ': ' || l.mode, ', '), 'none')
    FROM pg_locks l
    JOIN pg_class c ON c.oid = l.relation
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE l.pid = pg_backend_pid() AND l.granted AND n.nspname = 'r319'
     AND c.relkind IN ('r', 'p') AND c.relname !~ '_p[0-9]+$' $$;

-- Rules: SHARE ROW EXCLUSIVE (writes wait, reads go on).
BEGIN;
SELECT steward.track_versions('r319.t', 'version');
SELECT pg_temp.held() AS track_versions;
COMMIT;
BEGIN;
SELECT steward.track_sequence('r319.t', 'seq');
SELECT pg_temp.held() AS track_sequence;
COMMIT;
BEGIN;
SELECT steward.attach_state_machine('r319.t', 'status', 'r319_m');
SELECT pg_temp.held() AS attach_state_machine;
COMMIT;
BEGIN;
SELECT steward.set_state_check('r319.t', 'paid', 'SELECT count(*) FROM r319.t WHERE status = ''paid'' AND amt <= 0');
SELECT pg_temp.held() AS set_state_check;
COMMIT;
BEGIN;
SELECT steward.untrack('r319.t', 'version');
SELECT pg_temp.held() AS untrack;
ROLLBACK;
BEGIN;
SELECT steward.detach_state_machine('r319.t', 'status');
SELECT pg_temp.held() AS detach_state_machine;
ROLLBACK;
BEGIN;
SECURITY LABEL FOR steward ON COLUMN r319.t.seq IS NULL;
SELECT pg_temp.held() AS label;
COMMIT;
-- A machine's edges: the same lock on every table it is attached to.
BEGIN;
SELECT steward.add_transition('r319_m', 'paid', 'refunded', new_state => true);
SELECT pg_temp.held() AS add_transition;
COMMIT;
BEGIN;
SELECT steward.drop_transition('r319_m', 'paid', 'refunded');
SELECT pg_temp.held() AS drop_transition;
ROLLBACK;
BEGIN;
SELECT steward.add_initial_state('r319_m', 'paid');
SELECT pg_temp.held() AS add_initial_state;
COMMIT;
BEGIN;
SELECT steward.drop_initial_state('r319_m', 'paid');
SELECT pg_temp.held() AS drop_initial_state;
COMMIT;
-- A skip (if_not_exists / if_exists: nothing to do) still takes the locks:
-- it is judged on the machine's row read under them.
BEGIN;
SELECT steward.add_transition('r319_m', 'created', 'paid', if_not_exists => true);
SELECT pg_temp.held() AS add_transition_skipped;
ROLLBACK;
BEGIN;
SELECT steward.drop_initial_state('r319_m', 'refunded', if_exists => true);
SELECT pg_temp.held() AS drop_initial_state_skipped;
ROLLBACK;

-- Checks: ACCESS SHARE (only DROP, ALTER TABLE, TRUNCATE wait);
-- verify_heap's only for the call.
BEGIN;
SELECT state, passed, violations FROM steward.validate('r319.t');
SELECT pg_temp.held() AS validate;
COMMIT;
BEGIN;
SELECT count(*) > 0 AS verified FROM steward.verify('r319.t');
SELECT pg_temp.held() AS verify;
COMMIT;
BEGIN;
SELECT count(*) AS ranges FROM steward.checksum_ranges('r319.t', 'id', 4);
SELECT pg_temp.held() AS checksum_ranges;
COMMIT;
BEGIN;
SELECT count(*) AS corrupt FROM steward.verify_heap('r319.t');
SELECT pg_temp.held() AS verify_heap;
COMMIT;

-- A column migration: start, complete, cleanup and rollback ACCESS
-- EXCLUSIVE (no rewrite); validate SHARE UPDATE EXCLUSIVE.
BEGIN;
SELECT steward.migration_start('r319_cents', $$[
  {"alter_column": {"table": "r319.t", "column": "amt", "name": "cents", "type": "bigint",
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}}]$$);
SELECT pg_temp.held() AS column_start;
COMMIT;
CALL steward.migration_backfill('r319_cents');
BEGIN;
SELECT bool_and(passed) AS passed FROM steward.migration_validate('r319_cents');
SELECT pg_temp.held() AS column_validate;
COMMIT;
BEGIN;
SELECT steward.migration_complete('r319_cents');
SELECT pg_temp.held() AS column_complete;
COMMIT;
BEGIN;
SELECT steward.migration_cleanup('r319_cents');
SELECT pg_temp.held() AS column_cleanup;
COMMIT;
SELECT steward.migration_start('r319_note', $$[
  {"add_column": {"table": "r319.t", "column": "note", "type": "text", "up": "'x'"}}]$$);
BEGIN;
SELECT steward.migration_rollback('r319_note');
SELECT pg_temp.held() AS column_rollback;
COMMIT;

-- A relayout: start SHARE ROW EXCLUSIVE, validate ACCESS SHARE, complete
-- and cleanup ACCESS EXCLUSIVE on the layouts they rename or drop.
BEGIN;
SELECT steward.migration_start('r319_rl', $$[
  {"relayout": {"table": "r319.t", "partition_by": "HASH (id)", "partitions": 2}}]$$);
SELECT pg_temp.held() AS relayout_start;
COMMIT;
CALL steward.migration_backfill('r319_rl');
BEGIN;
SELECT bool_and(passed) AS passed FROM steward.migration_validate('r319_rl');
SELECT pg_temp.held() AS relayout_validate;
COMMIT;
BEGIN;
SELECT steward.migration_complete('r319_rl');
SELECT pg_temp.held() AS relayout_complete;
COMMIT;
BEGIN;
SELECT steward.migration_cleanup('r319_rl');
SELECT pg_temp.held() AS relayout_cleanup;
COMMIT;

-- An index step's start: ACCESS SHARE at most.
BEGIN;
SELECT steward.migration_start('r319_idx', $$[
  {"create_index": {"table": "r319.r", "name": "r319_r_version", "definition": "(version)"}}]$$);
SELECT pg_temp.held() AS create_index_start;
COMMIT;
SELECT steward.migration_rollback('r319_idx');

-- release: ACCESS EXCLUSIVE, with a rewrite (SET ACCESS METHOD heap).
BEGIN;
SELECT count(*) AS released FROM steward.release('r319.r');
SELECT pg_temp.held() AS release;
COMMIT;

SET client_min_messages = warning;
DROP SCHEMA r319 CASCADE;
RESET client_min_messages;
SELECT steward.drop_state_machine('r319_m');
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name LIKE 'r319\_%';
\i test/sql/drop_migration_records.sql
