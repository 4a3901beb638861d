-- codereview15 C5 and msg5: errors leaving pg_steward's PL/pgSQL entry
-- points (run_transition, migration_backfill, migration_validate,
-- migration_complete, migration_cleanup, migration_rollback,
-- migration_forget) and its event triggers printed CONTEXT lines of
-- pg_steward's internal PL/pgSQL ("PL/pgSQL function
-- steward._migration_require(...) line 26 at RAISE", the statements
-- calling it); only migration_start dropped them.  Now every one does, and
-- the lines of the user's own code (a trigger, the caller's DO block) stay.
-- A quoted statement's entry no longer ends at the first of its lines that
-- ends in a double quote (a quoted identifier at a line's end, doubled
-- quotes): the batch UPDATE below, whose first line ends in "Other", was
-- cut there and half of it kept.  CONTEXT is shown here.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT errors
SET steward.governor_min_calls = 1000000000;   -- no foreground load here
SELECT steward.create_state_machine('r331_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE r331 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'a', "No""te" text,
                   "Other" text) USING steward;
SELECT steward.attach_state_machine('r331', 'st', 'r331_m');
INSERT INTO r331 (id, "Other") VALUES (1, 'ok'), (2, 'bad "x"');
CREATE FUNCTION r331_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW."No""te" LIKE 'bad%' THEN
        RAISE EXCEPTION 'r331 refuses note %', NEW."No""te";
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER r331_refuse BEFORE UPDATE ON r331 FOR EACH ROW EXECUTE FUNCTION r331_refuse();
-- The user's trigger keeps its line; run_transition's batch statement
-- (its first line ends in "Other") and functions go.
CALL steward.run_transition('r331', 'a', 'b', set_sql => '"No""te" = "Other"');
-- The caller's DO block keeps its lines too.
DO $$ BEGIN CALL steward.run_transition('r331', 'a', 'b', set_sql => '"No""te" = "Other"'); END $$;
SELECT st, count(*) FROM r331 GROUP BY st ORDER BY st;
-- Errors pg_steward raises: no CONTEXT.
CALL steward.run_transition('r331', 'a', 'c');
CALL steward.migration_backfill('r331_none');
SELECT steward.migration_validate('r331_none');
SELECT steward.migration_complete('r331_none');
SELECT steward.migration_cleanup('r331_none');
SELECT steward.migration_rollback('r331_none');
CREATE TABLE r331b (id int PRIMARY KEY, v int) USING steward;
INSERT INTO r331b VALUES (1, 1), (2, -1);
CREATE FUNCTION r331_up(v int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF v < 0 THEN RAISE EXCEPTION 'r331_up refuses %', v; END IF;
    RETURN v * 2;
END $$;
SELECT steward.migration_start('r331b', '[{"add_column": {"table": "r331b", "column": "w", "type": "int", "up": "r331_up(v)"}}]');
CALL steward.migration_backfill('r331b');
SELECT steward.migration_complete('r331b');
SELECT steward.migration_cleanup('r331b');
SELECT steward.migration_forget('r331b');
-- A caller's own function keeps its line.
CREATE FUNCTION r331_complete() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM steward.migration_complete('r331b');
END $$;
SELECT r331_complete();
SELECT steward.migration_rollback('r331b');
SELECT steward.migration_rollback('r331b');
-- pg_steward's event trigger refuses a tracked column's new type: no
-- CONTEXT either.
ALTER TABLE r331 ALTER COLUMN st DROP DEFAULT;
ALTER TABLE r331 ALTER COLUMN st TYPE int USING 0;
DROP FUNCTION r331_complete();
DROP TABLE r331, r331b;
DROP FUNCTION r331_refuse(), r331_up(int);
SELECT steward.drop_state_machine('r331_m');
RESET steward.governor_min_calls;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r331b');
\i test/sql/drop_migration_records.sql
