-- R4's WARNING (8e04bad) names a user trigger whose function's body
-- names a column complete renames or drops; it read the body's text only,
-- so a trigger given the column's name as an argument (CREATE TRIGGER
-- ... EXECUTE FUNCTION f('amt'): contrib's moddatetime takes its column
-- so, and a PL/pgSQL function reads TG_ARGV[0] and builds the name at run
-- time) got none, and every write firing it failed after complete.  Now
-- start and complete name it too, in any language; a trigger whose
-- argument is another word, or a name that survives complete, gets none.
-- A name built at run time from anything else (a table, EXECUTE of a
-- string put together) is still not seen (docs/migrations.md says so).
\set SHOW_CONTEXT never
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE r307 (id int PRIMARY KEY, amt numeric(12,2), qty int) USING steward;
INSERT INTO r307 SELECT g, g * 1.25, g FROM generate_series(1, 3) g;
-- Rounds the column its first argument names (42703 when there is none).
CREATE FUNCTION r307_round_arg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT to_jsonb(NEW) ? TG_ARGV[0] THEN
        RAISE EXCEPTION 'record "new" has no field "%"', TG_ARGV[0] USING ERRCODE = 'undefined_column';
    END IF;
    NEW := jsonb_populate_record(NEW, jsonb_build_object(TG_ARGV[0], round((to_jsonb(NEW) ->> TG_ARGV[0])::numeric)));
    RETURN NEW;
END $$;
CREATE TRIGGER a_round BEFORE INSERT OR UPDATE ON r307 FOR EACH ROW EXECUTE FUNCTION r307_round_arg('amt');
CREATE TRIGGER b_qty BEFORE INSERT ON r307 FOR EACH ROW EXECUTE FUNCTION r307_round_arg('qty');
CREATE TRIGGER c_words BEFORE INSERT ON r307 FOR EACH ROW EXECUTE FUNCTION r307_round_arg('qty', 'amt_total', 'namt');

-- amt renamed and retyped, qty only retyped (its name stays).
SELECT steward.migration_start('r307_m', '[{"alter_column": {"table": "r307", "column": "amt", "name": "cents", "type": "bigint", "up": "(amt*100)::bigint", "down": "cents/100.0"}},
                                           {"alter_column": {"table": "r307", "column": "qty", "type": "bigint", "up": "qty::bigint", "down": "qty::int"}}]');
CALL steward.migration_backfill('r307_m');
SELECT bool_and(passed) FROM steward.migration_validate('r307_m');
SELECT steward.migration_complete('r307_m');
-- What the WARNINGs say would happen, and the way out they name.
INSERT INTO r307 (id, cents, qty) VALUES (10, 500, 1);
DROP TRIGGER a_round ON r307;
CREATE TRIGGER a_round BEFORE INSERT OR UPDATE ON r307 FOR EACH ROW EXECUTE FUNCTION r307_round_arg('cents');
INSERT INTO r307 (id, cents, qty) VALUES (10, 500, 1);
SELECT steward.migration_rollback('r307_m');
DROP TABLE r307;
DROP FUNCTION r307_round_arg();

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r307_m');
\i test/sql/drop_migration_records.sql
