-- review10 F5: a create_index build cancelled by statement_timeout left
-- its INVALID index (maintained by every write) until the next validate,
-- backfill or rollback, and steward.migration_indexes.state = 'building'
-- forever; now the build's worker drops the index at once, and the next
-- validate (or backfill) records the step failed, with the reason.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE bci (id int PRIMARY KEY, a text, b int) USING steward;
INSERT INTO bci SELECT g, md5(g::text), g % 1000 FROM generate_series(1, 600000) g;
SELECT steward.migration_start('bci_idx', $$[{"create_index": {"table": "bci", "name": "bci_a_b", "definition": "(a, b)"}}]$$);
SET statement_timeout = '400ms';
CALL steward.migration_backfill('bci_idx');
RESET statement_timeout;
-- The cancelled worker drops the INVALID index by itself, and goes away.
DO $$
BEGIN
    FOR i IN 1..300 LOOP
        PERFORM pg_stat_clear_snapshot();
        EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index WHERE relid = 'bci'::regclass)
              AND NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'bci_a_b');
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;
SELECT count(*) AS index_left FROM pg_class WHERE relname = 'bci_a_b';
SELECT state FROM steward.migration_indexes WHERE migration = 'bci_idx';
SELECT "check", passed, detail FROM steward.migration_validate('bci_idx') WHERE "check" LIKE 'index %';
SELECT state, error, invalid_dropped FROM steward.migration_indexes WHERE migration = 'bci_idx';
SELECT count(*) AS invalid_left FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE c.relname = 'bci_a_b' AND NOT i.indisvalid;
-- The next backfill builds it.
CALL steward.migration_backfill('bci_idx');
SELECT state, error FROM steward.migration_indexes WHERE migration = 'bci_idx';
SELECT steward.migration_rollback('bci_idx');
DROP TABLE bci;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('bci_idx');
\i test/sql/drop_migration_records.sql
