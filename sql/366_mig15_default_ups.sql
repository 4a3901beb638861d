-- mig14 M4: an "up" or "down" that reads no column was computed again at
-- every write in its shape, overwriting what the other application had
-- written there: an old-shape UPDATE of "amt" set "currency", which the
-- new application had set to 'USD', back to up's 'EUR'; a new-shape
-- UPDATE of "flag" set the dropped "note" ('keep me') to down's 'n/a' and
-- "created_at" to now().  Such an expression is a default now: computed
-- for an INSERT that does not write the column and for the first fill of
-- a row (the backfill, the first old-shape write of a row not filled
-- yet), kept by every later write, and not compared by validation.  An
-- up or down that reads columns is still computed again at each write in
-- its shape (expand / contract: the other shape follows the one written).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

-- The add case.
CREATE TABLE m15a (id bigint PRIMARY KEY, amt numeric, label text) USING steward;
INSERT INTO m15a SELECT g, g, 'r' || g FROM generate_series(1, 4) g;
SELECT steward.migration_start('m15a', $$[
  {"alter_column": {"table": "m15a", "column": "amt", "name": "cents", "type": "bigint",
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}},
  {"add_column": {"table": "m15a", "column": "currency", "type": "text", "up": "'EUR'"}}]$$);
-- The first old-shape write of a row not filled yet computes it, as the backfill does.
UPDATE m15a SET amt = 40 WHERE id = 4;
CALL steward.migration_backfill('m15a');
SET search_path = m15a, public;
UPDATE m15a SET currency = 'USD' WHERE id IN (1, 2);
UPDATE m15a SET cents = 777 WHERE id = 3;
INSERT INTO m15a (id, cents, currency) VALUES (5, 500, 'GBP');
INSERT INTO m15a (id, cents) VALUES (6, 600);
RESET search_path;
-- The old application writes amt: cents follows it, currency stays the new application's.
UPDATE m15a SET amt = amt + 1 WHERE id IN (1, 3, 5);
UPDATE m15a SET label = 'x' WHERE id = 2;
-- Old-shape INSERTs get up's value; one that names currency keeps its own.
INSERT INTO m15a (id, amt) VALUES (7, 7);
INSERT INTO m15a (id, amt, currency) VALUES (8, 8, 'CHF');
SELECT id, round(amt, 2) AS amt, cents, currency, _steward_side FROM m15a ORDER BY id;
SELECT "check", passed, detail FROM steward.migration_validate('m15a') ORDER BY "check";
SELECT steward.migration_complete('m15a');
-- After the switch, an old-shape write through the old view keeps it too.
UPDATE m15a_old.m15a SET amt = 20 WHERE id = 2;
SELECT id, cents, currency FROM m15a WHERE id = 2;
SELECT steward.migration_cleanup('m15a');
SELECT id, cents, currency FROM m15a ORDER BY id;

-- The drop case.
CREATE TABLE m15d (id bigint PRIMARY KEY, v int, note text,
                   created_at timestamptz NOT NULL DEFAULT now()) USING steward;
INSERT INTO m15d VALUES (1, 1, 'keep me', '2026-01-01 00:00+00'), (2, 2, 'keep me too', '2026-01-02 00:00+00');
SELECT steward.migration_start('m15d', $$[
  {"drop_column": {"table": "m15d", "column": "note", "down": "'n/a'"}},
  {"drop_column": {"table": "m15d", "column": "created_at", "down": "now()"}},
  {"add_column": {"table": "m15d", "column": "flag", "type": "boolean", "default": "false"}}]$$);
CALL steward.migration_backfill('m15d');
SET search_path = m15d, public;
UPDATE m15d SET flag = true WHERE id = 1;
UPDATE m15d SET v = 20 WHERE id = 2;
INSERT INTO m15d (id, v) VALUES (3, 3);
RESET search_path;
SELECT id, v, note, created_at = '2026-01-01 00:00+00' OR created_at = '2026-01-02 00:00+00' AS kept,
       created_at IS NOT NULL AS has_created_at, flag, _steward_side FROM m15d ORDER BY id;
SELECT "check", passed FROM steward.migration_validate('m15d') ORDER BY "check";
SELECT steward.migration_rollback('m15d');
SELECT id, v, note FROM m15d ORDER BY id;
DROP TABLE m15a, m15d;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m15a'), ('m15d');
\i test/sql/drop_migration_records.sql
