-- newcomer48 N8: a cleanup refused in phase backfilled hinted "Validate
-- first"; after validating, the next cleanup was refused again with
-- "Complete it first".  The HINT now names every call left, in order, and
-- running them as given lets the action through.
-- newcomer48 N10: a drop_index cleanup refused for its watch window hinted
-- 'give the step "force": true', which a started migration cannot do; it
-- now gives the SET that lowers steward.migration_index_window, and
-- following it drops the index.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA p439;
SET search_path = p439, public;
CREATE TABLE p439.t (id int PRIMARY KEY, v int NOT NULL) USING steward;
INSERT INTO p439.t SELECT g, g FROM generate_series(1, 5) g;
CREATE INDEX t_v_idx ON p439.t (v);

-- The HINT of the refused call, and the statements it names.
CREATE FUNCTION p439.hint_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END
$$;
CREATE FUNCTION p439.calls(hint text, after text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT s || ';' FROM regexp_split_to_table(substr(hint, strpos(hint, after) + length(after)), ';\s*') s
     WHERE s <> ''
$$;

-- N8: cleanup before the backfill, then after it.
SELECT steward.migration_start('p439_m', '[{"add_column": {"table": "p439.t", "column": "w", "type": "int", "up": "v * 2"}}]');
SELECT p439.hint_of($$SELECT steward.migration_cleanup('p439_m')$$) AS hint \gset
\echo :hint
SELECT p439.hint_of($$SELECT steward.migration_complete('p439_m')$$) AS complete_hint;
CALL steward.migration_backfill('p439_m');
SELECT p439.hint_of($$SELECT steward.migration_cleanup('p439_m')$$) AS hint \gset
\echo :hint
-- Run as given, the calls let cleanup through.
SELECT c FROM p439.calls(:'hint', 'in order: ') c \gexec
SELECT phase FROM steward.migrations WHERE name = 'p439_m';
SELECT steward.migration_cleanup('p439_m');
SELECT phase, result FROM steward.migrations WHERE name = 'p439_m';
-- Past the step: backfill of a complete migration.
SELECT steward.migration_start('p439_m2', '[{"add_column": {"table": "p439.t", "column": "x", "type": "int"}}]');
CALL steward.migration_backfill('p439_m2');
SELECT "check", passed FROM steward.migration_validate('p439_m2');
SELECT steward.migration_complete('p439_m2');
CALL steward.migration_backfill('p439_m2');
SELECT p439.hint_of($$SELECT steward.migration_complete('p439_m2')$$) AS complete_hint;
SELECT steward.migration_rollback('p439_m2');

-- N10: the window's HINT, followed as given, drops the index.
SELECT steward.migration_start('p439_ix', '[{"drop_index": {"name": "p439.t_v_idx"}}]');
CALL steward.migration_backfill('p439_ix');
SELECT "check", passed FROM steward.migration_validate('p439_ix') WHERE "check" NOT LIKE 'unused%';
SELECT steward.migration_complete('p439_ix');
SELECT p439.hint_of($$SELECT steward.migration_cleanup('p439_ix')$$) AS hint \gset
SELECT regexp_replace(:'hint', '\m\d+( ?s)\M', '<n>\1', 'g') AS hint;
\set ECHO none
SELECT c FROM p439.calls(:'hint', 'clean up now: ') c \gexec
\set ECHO all
SELECT current_setting('steward.migration_index_window') <> '1h' AS window_lowered;
SELECT to_regclass('p439.t_v_idx') AS dropped, phase, result FROM steward.migrations WHERE name = 'p439_ix';
RESET steward.migration_index_window;

RESET search_path;
DROP SCHEMA p439 CASCADE;

-- This file's migration records go (465_zz_leftovers).
CREATE TEMP TABLE gone (name) AS VALUES ('p439_ix'), ('p439_m'), ('p439_m2');
\i test/sql/drop_migration_records.sql
