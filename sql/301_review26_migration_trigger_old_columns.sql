-- A user's BEFORE trigger whose body names a column that complete
-- renames or drops (review26 R4): start and complete passed without a
-- word, then every write failed with 42703 until a rollback.  Now start
-- and complete name each such trigger in a WARNING with a HINT; a
-- trigger naming no such column, or one whose name survives complete
-- (a type change only), gets none.
\set SHOW_CONTEXT never
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE r301 (id int PRIMARY KEY, amt numeric(12,2), qty int, note text) USING steward;
INSERT INTO r301 SELECT g, g * 1.25, g, 'n' FROM generate_series(1, 3) g;
CREATE FUNCTION r301_round() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.amt := round(NEW.amt); RETURN NEW; END $$;
CREATE FUNCTION r301_quoted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW."note" := upper(NEW."note"); RETURN NEW; END $$;
CREATE FUNCTION r301_other() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.qty := coalesce(NEW.qty, 0); RETURN NEW; END $$;
CREATE FUNCTION r301_word() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.qty := NEW.qty; /* amt_total, namt */ RETURN NEW; END $$;
CREATE TRIGGER a_round BEFORE INSERT OR UPDATE ON r301 FOR EACH ROW EXECUTE FUNCTION r301_round();
CREATE TRIGGER b_quoted BEFORE UPDATE ON r301 FOR EACH ROW EXECUTE FUNCTION r301_quoted();
CREATE TRIGGER c_other BEFORE INSERT ON r301 FOR EACH ROW EXECUTE FUNCTION r301_other();
CREATE TRIGGER d_word BEFORE INSERT ON r301 FOR EACH ROW EXECUTE FUNCTION r301_word();

-- amt renamed and retyped, note dropped, qty only retyped (its name stays).
SELECT steward.migration_start('r301_m', '[{"alter_column": {"table": "r301", "column": "amt", "name": "cents", "type": "bigint", "up": "(amt*100)::bigint", "down": "cents/100.0"}},
                                           {"drop_column": {"table": "r301", "column": "note"}},
                                           {"alter_column": {"table": "r301", "column": "qty", "type": "bigint", "up": "qty::bigint", "down": "qty::int"}}]');
CALL steward.migration_backfill('r301_m');
SELECT bool_and(passed) FROM steward.migration_validate('r301_m');
SELECT steward.migration_complete('r301_m');
-- What the WARNINGs say would happen.
INSERT INTO r301 (id, cents, qty) VALUES (10, 500, 1);
SELECT steward.migration_rollback('r301_m');
-- A migration renaming or dropping no column names no trigger.
SELECT steward.migration_start('r301_n', '[{"add_column": {"table": "r301", "column": "extra", "type": "int", "up": "qty + 1"}}]');
SELECT steward.migration_rollback('r301_n');
DROP TABLE r301;
DROP FUNCTION r301_round(), r301_quoted(), r301_other(), r301_word();

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r301_m'), ('r301_n');
\i test/sql/drop_migration_records.sql
