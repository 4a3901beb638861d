-- review10 F5: a create_index build cancelled by statement_timeout left
-- its INVALID index (maintained by every write) until the next validate,
-- backfill or rollback, and steward.migration_indexes.state = 'building'
-- forever; now the build's worker drops the index at once, and the next
-- validate (or backfill) records the step failed, with the reason.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

-- The index's expression sleeps (0.5 ms a row, 2 s a build): the cancel
-- lands during the build whatever the machine's load.  (A cancel that
-- lands just as a build ends, which CI saw with a fast build, is undone by
-- the worker when it sees the caller gone; when the caller is cancelled
-- later than that, the next backfill names the index left, below.)
CREATE FUNCTION public.bci_slow(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE
    AS $$BEGIN PERFORM pg_sleep(0.0005); RETURN t; END$$;
CREATE TABLE bci (id int PRIMARY KEY, a text, b int) USING steward;
INSERT INTO bci SELECT g, md5(g::text), g % 1000 FROM generate_series(1, 4000) g;
SELECT steward.migration_start('bci_idx', $$[{"create_index": {"table": "bci", "name": "bci_a_b", "definition": "(public.bci_slow(a), b)"}}]$$);
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
-- An index of the step's name that the step did not record as built
-- (made by someone meanwhile, or left by a build cancelled as it ended)
-- is named, not adopted.
SELECT steward.migration_start('bci_idx2', $$[{"create_index": {"table": "bci", "name": "bci_b", "definition": "(b)"}}]$$);
CREATE INDEX bci_b ON bci (b);
CALL steward.migration_backfill('bci_idx2');
SELECT steward.migration_rollback('bci_idx2');
SELECT count(*) AS kept FROM pg_class WHERE relname = 'bci_b';
DROP TABLE bci;
DROP FUNCTION public.bci_slow(text);
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('bci_idx', 'bci_idx2');
\i test/sql/drop_migration_records.sql
