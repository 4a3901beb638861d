-- readme42 R6: a mistyped migration step printed, under the one error
-- whose DETAIL and HINT say what to change, 3 to 7 CONTEXT lines of
-- pg_steward's internal PL/pgSQL ("PL/pgSQL function
-- steward._migration_step(jsonb,integer,text[]) line 7 at RAISE", the
-- statements calling it).  migration_start now drops those lines; the
-- caller's own context (a function of its own that calls start) and the
-- position of an error in the user's SQL stay.  CONTEXT is shown here.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE r317 (id bigint PRIMARY KEY, v integer NOT NULL) USING steward;
-- A step of no kind, a key no step takes, a kind's key missing, a bad
-- relayout, a bad unique.
SELECT steward.migration_start('r317', '[{"table": "r317"}]');
SELECT steward.migration_start('r317', '[{"add_column": {"table": "r317", "column": "c", "type": "int", "upp": "1"}}]');
SELECT steward.migration_start('r317', '[{"drop_column": {"table": "r317"}}]');
SELECT steward.migration_start('r317', '[{"relayout": {"table": "r317", "partition_by": "HASH (id)", "partitions": 0}}]');
SELECT steward.migration_start('r317', '[{"alter_column": {"table": "r317", "column": "v", "unique": 7}}]');
SELECT steward.migration_start('r317', '[{"drop_index": {"table": "r317", "name": "r317_nope"}}]');
-- An error in the user's own expression keeps its position.
SELECT steward.migration_start('r317', '[{"add_column": {"table": "r317", "column": "c", "type": "int", "up": "v +* 2"}}]');
-- The caller's own function keeps its line.
CREATE FUNCTION r317_start() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM steward.migration_start('r317', '[{"drop_column": {"table": "r317"}}]');
END $$;
SELECT r317_start();
SELECT count(*) AS migrations FROM steward.migrations WHERE name = 'r317';
DROP FUNCTION r317_start();
DROP TABLE r317;
