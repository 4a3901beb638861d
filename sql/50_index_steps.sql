-- Index steps of a migration (create_index, drop_index; src/migrate/indexes.sql):
-- the checks that refuse user text before anything runs, the guard of
-- drop_index, the concurrent build as the table's owner, a failed build's
-- INVALID index cleaned up, and what is recorded.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;     -- so that the file also runs alone
RESET client_min_messages;

CREATE ROLE ix_owner NOLOGIN;
CREATE ROLE ix_stranger NOLOGIN;
CREATE TABLE ix_orders (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    integer NOT NULL,
    status     text NOT NULL DEFAULT 'new',
    code       text,
    created_at timestamptz NOT NULL DEFAULT '2026-01-01'
) USING steward;
INSERT INTO ix_orders (user_id, code) SELECT g % 50, 'c' || g FROM generate_series(1, 2000) g;
CREATE INDEX ix_orders_status_idx ON ix_orders (status);
CREATE UNIQUE INDEX ix_orders_code_key ON ix_orders (code);
CREATE TABLE ix_lines (id int PRIMARY KEY, code text REFERENCES ix_orders (code));
ALTER TABLE ix_orders OWNER TO ix_owner;
ALTER TABLE ix_lines OWNER TO ix_owner;
CREATE TABLE ix_parted (id int, k int) PARTITION BY HASH (id);

-- Shows an error with its SQLSTATE, DETAIL and HINT, times and durations masked.
CREATE FUNCTION ix_try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text; hin text;
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                            hin = PG_EXCEPTION_HINT;
    RETURN regexp_replace(regexp_replace(
               format('%s: %s', st, msg) || coalesce(E'\nDETAIL: ' || nullif(det, ''), '')
               || coalesce(E'\nHINT: ' || nullif(hin, ''), ''),
               '\d{4}-\d\d-\d\d[T ][0-9:.]+([+-]\d\d(:\d\d)?)?', '<time>', 'g'), '\m\d+( ?s)\M', '<n>\1', 'g');
END
$$;
GRANT EXECUTE ON FUNCTION ix_try(text) TO PUBLIC;

-- 1. Refused at start, before anything runs.
-- The index is built as the table's owner, in the table's schema.
SET ROLE ix_owner;
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1", "definition": "(user_id)"}}]');
RESET ROLE;
GRANT CREATE ON SCHEMA public TO ix_owner;
SET ROLE ix_owner;
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1"}}]');
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1", "definition": "(user_id)", "colour": "red"}}]');
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1", "definition": ["user_id"]}}]');
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1", "definition": "(user_id)", "unique": "yes"}}]');
SELECT steward.migration_start('ix', '[{"create_index": {"table": "nope", "name": "i1", "definition": "(user_id)"}}]');
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "ix_orders_status_idx", "definition": "(user_id)"}}]');
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1", "definition": "(user_id)", "method": "nosuch"}}]');
-- The user's text must make exactly one CREATE INDEX on the table.
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1", "definition": "(user_id); DROP TABLE ix_lines"}}]');
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1", "definition": "(user_id)", "where": "true; DROP TABLE ix_lines"}}]');
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1", "definition": "(user_id) --", "where": "user_id > 0"}}]');
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1", "definition": "(user_id) WHERE user_id > 0"}}]');
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1", "definition": "(user_id)) ; SELECT (1"}}]');
-- Names resolve as the build resolves them (search_path = pg_catalog, pg_temp).
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1", "definition": "(no_such_column)"}}]');
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1", "definition": "((ix_try(status)))"}}]');
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1", "definition": "(user_id)", "where": "nosuch > 1"}}]');
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_parted", "name": "i1", "definition": "(k)"}}]');
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1", "definition": "(user_id)"}}, {"add_column": {"table": "ix_orders", "column": "c", "type": "int"}}]');
SELECT steward.migration_start('ix', '[{"drop_index": {"name": "nope"}}]');
SELECT steward.migration_start('ix', '[{"drop_index": {"name": "ix_orders"}}]');
SELECT steward.migration_start('ix', '[{"drop_index": {"name": "ix_orders_status_idx", "force": "yes"}}]');
SELECT steward.migration_start('ix', '[{"drop_index": {"name": "ix_orders_status_idx"}}, {"drop_index": {"name": "ix_orders_status_idx"}}]');
-- The guard: an index that backs a constraint is never the step's to drop.
SELECT ix_try($$SELECT steward.migration_start('ix', '[{"drop_index": {"name": "ix_orders_pkey", "force": true}}]')$$);
SELECT ix_try($$SELECT steward.migration_start('ix', '[{"drop_index": {"name": "ix_orders_code_key"}}]')$$);
RESET ROLE;
SET ROLE ix_stranger;
SELECT steward.migration_start('ix', '[{"create_index": {"table": "ix_orders", "name": "i1", "definition": "(user_id)"}}]');
RESET ROLE;
SELECT count(*) FROM steward.migrations WHERE name = 'ix';

-- 2. create_index: built concurrently by CALL steward.migration_backfill,
-- as the table's owner (a NOLOGIN role here).
SET ROLE ix_owner;
SELECT steward.migration_start('ix_user', '[{"create_index": {"table": "ix_orders", "name": "ix_orders_user_created", "definition": "(user_id, created_at DESC) INCLUDE (status)", "where": "status <> ''done''"}}]');
SELECT kind, relid, index_name, statement, state FROM steward.migration_indexes WHERE migration = 'ix_user';
SELECT phase, result FROM steward.migrations WHERE name = 'ix_user';
-- Not inside a transaction block: the build commits on its own.
BEGIN;
CALL steward.migration_backfill('ix_user');
ROLLBACK;
CALL steward.migration_backfill('ix_user');
SELECT phase, result, backfill_status, rows_backfilled, rows_total FROM steward.migrations WHERE name = 'ix_user';
SELECT state, size_bytes > 0 AS sized, build_finished_at >= build_started_at AS timed,
       latency ? 'start' AND latency ? 'build_start' AND latency ? 'build_end' AS snapshots
  FROM steward.migration_indexes WHERE migration = 'ix_user';
SELECT c.relname, c.relowner::regrole, i.indisvalid, pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE c.relname = 'ix_orders_user_created';
SELECT "check", passed FROM steward.migration_validate('ix_user');
SELECT steward.migration_complete('ix_user');
SELECT steward.migration_cleanup('ix_user');
SELECT phase, result FROM steward.migrations WHERE name = 'ix_user';
SELECT to_regclass('ix_orders_user_created') IS NOT NULL AS kept;

-- 3. A build that fails (duplicates for a unique index) leaves an INVALID
-- index: it is dropped at once and the failure recorded.
SELECT steward.migration_start('ix_uniq', '[{"create_index": {"table": "ix_orders", "name": "ix_orders_user_key", "definition": "(user_id)", "unique": true}}]');
CALL steward.migration_backfill('ix_uniq');
SELECT phase, result, backfill_status, error FROM steward.migrations WHERE name = 'ix_uniq';
SELECT state, invalid_dropped, error FROM steward.migration_indexes WHERE migration = 'ix_uniq';
SELECT to_regclass('ix_orders_user_key') AS leftover;
SELECT "check", passed, detail FROM steward.migration_validate('ix_uniq');
SELECT steward.migration_complete('ix_uniq');
SELECT steward.migration_rollback('ix_uniq');
SELECT phase, result FROM steward.migrations WHERE name = 'ix_uniq';
SELECT state FROM steward.migration_indexes WHERE migration = 'ix_uniq';

-- 4. Rollback of a built index drops it (concurrently).
SELECT steward.migration_start('ix_rb', '[{"create_index": {"table": "ix_orders", "name": "ix_orders_lower_code", "definition": "(lower(code))"}}]');
CALL steward.migration_backfill('ix_rb');
SELECT to_regclass('ix_orders_lower_code') IS NOT NULL AS built;
SELECT steward.migration_rollback('ix_rb');
SELECT to_regclass('ix_orders_lower_code') AS after_rollback;

-- 5. drop_index: the index stays until cleanup; validation reports its
-- scans and write cost; cleanup refuses an index used since the start.
SELECT steward.migration_start('ix_drop', '[{"drop_index": {"name": "ix_orders_status_idx"}}]');
SELECT kind, index_name, definition, state, force FROM steward.migration_indexes WHERE migration = 'ix_drop';
CALL steward.migration_backfill('ix_drop');
SET enable_seqscan = off;
SELECT count(*) FROM ix_orders WHERE status = 'done';
RESET enable_seqscan;
SELECT pg_stat_force_next_flush();
SELECT "check", passed, regexp_replace(detail, '\d+(\.\d+)? s\M', '<n> s', 'g') AS detail
  FROM steward.migration_validate('ix_drop');
SELECT phase, result, regexp_replace(error, '\d+ s\M', '<n> s') AS error FROM steward.migrations WHERE name = 'ix_drop';
SELECT ix_try($$SELECT steward.migration_complete('ix_drop')$$);
-- Rollback before cleanup: the index was never dropped.
SELECT steward.migration_rollback('ix_drop');
SELECT to_regclass('ix_orders_status_idx') IS NOT NULL AS still_there;

-- Unused, but watched for less than steward.migration_index_window.
SELECT steward.migration_start('ix_drop2', '[{"drop_index": {"name": "ix_orders_status_idx"}}]');
CALL steward.migration_backfill('ix_drop2');
SELECT "check", passed FROM steward.migration_validate('ix_drop2');
SELECT steward.migration_complete('ix_drop2');
SELECT ix_try($$SELECT steward.migration_cleanup('ix_drop2')$$);
-- Used after validation: cleanup refuses with the scans counted.
SET enable_seqscan = off;
SELECT count(*) FROM ix_orders WHERE status = 'done';
RESET enable_seqscan;
SELECT pg_stat_force_next_flush();
SET steward.migration_index_window = 0;
SELECT ix_try($$SELECT steward.migration_cleanup('ix_drop2')$$);
SELECT steward.migration_rollback('ix_drop2');

-- Unused for the window: dropped concurrently at cleanup.
SELECT steward.migration_start('ix_drop3', '[{"drop_index": {"name": "ix_orders_status_idx"}}]');
CALL steward.migration_backfill('ix_drop3');
SELECT "check", passed FROM steward.migration_validate('ix_drop3');
SELECT steward.migration_complete('ix_drop3');
SELECT steward.migration_cleanup('ix_drop3');
SELECT to_regclass('ix_orders_status_idx') AS dropped, phase, result
  FROM steward.migrations WHERE name = 'ix_drop3';
SELECT index_name, state, definition, size_bytes > 0 AS sized FROM steward.migration_indexes WHERE migration = 'ix_drop3';

-- force: dropped although it is used.
SELECT steward.migration_start('ix_drop4', '[{"drop_index": {"name": "ix_orders_user_created", "force": true}}]');
SET enable_seqscan = off;
SELECT count(*) FROM ix_orders WHERE user_id = 3 AND status <> 'done';
RESET enable_seqscan;
SELECT pg_stat_force_next_flush();
CALL steward.migration_backfill('ix_drop4');
SELECT "check", passed, regexp_replace(detail, '\d+(\.\d+)? s\M', '<n> s', 'g') AS detail
  FROM steward.migration_validate('ix_drop4') WHERE "check" LIKE 'unused%';
SELECT steward.migration_complete('ix_drop4');
SELECT steward.migration_cleanup('ix_drop4');
SELECT to_regclass('ix_orders_user_created') AS dropped;
RESET steward.migration_index_window;
RESET ROLE;

-- Everything is recorded, visible to the table's owner only.
SELECT name, phase, result, steps->0 ? 'create_index' AS creates FROM steward.migrations
 WHERE name IN ('ix', 'ix_user', 'ix_uniq', 'ix_rb', 'ix_drop', 'ix_drop2', 'ix_drop3', 'ix_drop4')
 ORDER BY name;
SET ROLE ix_stranger;
SELECT count(*) FROM steward.migration_indexes;
RESET ROLE;

DROP TABLE ix_lines, ix_orders, ix_parted;
-- Its records go too: other files count the migrations of the database.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs
 WHERE name IN ('ix', 'ix_user', 'ix_uniq', 'ix_rb', 'ix_drop', 'ix_drop2', 'ix_drop3', 'ix_drop4');
\i test/sql/drop_migration_records.sql
DROP FUNCTION ix_try(text);
REVOKE CREATE ON SCHEMA public FROM ix_owner;
DROP ROLE ix_owner, ix_stranger;
