-- The WARNINGs and NOTICEs of pg_steward's internal PL/pgSQL came with
-- CONTEXT lines of its own code, text the user never wrote, which a
-- client shows under the message ("PL/pgSQL function
-- steward._migration_warn_trigger_users(text) line 29 at RAISE", the
-- statement that called it, the entry point's line), where errors lose
-- them since msg6 and msg7 (352, 380) (closing46 Noticed 6).  Now they
-- are raised through steward._report, which strips them the same way:
-- the user's own lines (a caller's function) stay.  CONTEXT is shown
-- here for every message.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT always

CREATE TABLE r420 (id int PRIMARY KEY, amt numeric) USING steward;
INSERT INTO r420 VALUES (1, 1.5);
CREATE FUNCTION r420_round() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.amt := round(NEW.amt, 2);
    RETURN NEW;
END $$;
CREATE TRIGGER a_round BEFORE INSERT OR UPDATE ON r420 FOR EACH ROW EXECUTE FUNCTION r420_round();

-- A WARNING of an internal function under an entry point: no CONTEXT.
SELECT steward.migration_start('r420_m', '[{"alter_column": {"table": "r420", "column": "amt", "name": "cents", "type": "bigint", "up": "(amt*100)::bigint", "down": "cents/100.0"}}]');
CALL steward.migration_backfill('r420_m');
SELECT bool_and(passed) AS validated FROM steward.migration_validate('r420_m');
-- Under the user's own function: its line alone.
CREATE FUNCTION r420_complete() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM steward.migration_complete('r420_m');
END $$;
SELECT r420_complete();
SELECT steward.migration_rollback('r420_m');

-- A NOTICE with its SQLSTATE (create_state_machine's "skipping").
SELECT steward.create_state_machine('r420_sm', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.create_state_machine('r420_sm', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b'], if_not_exists => true);
\set VERBOSITY sqlstate
SELECT steward.create_state_machine('r420_sm', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b'], if_not_exists => true);
\set VERBOSITY default

-- steward._report's own errors.
SELECT steward._report('error', 'x');
SELECT steward._report('warning', NULL);
SELECT steward._report('notice', 'x', sqlstate => '2201');
-- Called by the user, its line stays; client_min_messages decides.
SELECT steward._report('warning', 'plain', 'a detail', 'a hint');
SET client_min_messages = warning;
SELECT steward._report('notice', 'not shown');
RESET client_min_messages;

SELECT steward.drop_state_machine('r420_sm');

DROP TABLE r420;
DROP FUNCTION r420_round(), r420_complete();

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r420_m');
\i test/sql/drop_migration_records.sql
