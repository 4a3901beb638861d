-- Column migrations and the writes around the backfill (review8 #1, #24):
-- a new-shape UPDATE that sets a derived column of a row the backfill has
-- not filled yet is refused (the statement read that column as NULL), not
-- silently replaced by up(old); the backfill does not fire the table's own
-- triggers (it writes only the migration's columns) while foreign-key
-- checks and pg_steward's own trigger still work.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

-- 1. Relative updates of rows not backfilled (the review's reproduction):
-- the new shape reads NULL there, so cents + 7 is NULL, which the trigger
-- took for "not written" and replaced by up(amt), reporting UPDATE 1.
CREATE TABLE inv (id int PRIMARY KEY, amt numeric(12,2) NOT NULL, note text) USING steward;
INSERT INTO inv SELECT g, g * 1.25, 'n' || g FROM generate_series(1, 8) g;
SELECT steward.migration_start('cents', '[{"alter_column": {"table": "inv", "column": "amt", "name": "cents", "type": "bigint", "up": "(amt*100)::bigint", "down": "cents/100.0"}},
                                          {"add_column": {"table": "inv", "column": "twice", "type": "numeric", "up": "amt * 2"}},
                                          {"add_column": {"table": "inv", "column": "free", "type": "int"}}]');
UPDATE cents.inv SET cents = cents + 7 WHERE id = 5 RETURNING cents;
UPDATE cents.inv SET cents = cents * 2, note = 'z' WHERE id = 5;
UPDATE cents.inv SET twice = twice * 2 WHERE id = 5;
UPDATE cents.inv SET cents = NULL WHERE id = 5;
INSERT INTO cents.inv (id, cents, note) VALUES (5, 1, 'dup')
    ON CONFLICT (id) DO UPDATE SET cents = excluded.cents + inv.cents;
SELECT amt, cents, twice, _steward_side FROM inv WHERE id = 5;
-- A value is written in the new shape; the row's other derived columns
-- get up(row) first, as the backfill would have given them.
UPDATE cents.inv SET cents = 500 WHERE id = 7 RETURNING cents, twice;
INSERT INTO cents.inv (id, cents, note) VALUES (6, 1, 'dup')
    ON CONFLICT (id) DO UPDATE SET cents = excluded.cents RETURNING cents, twice, note;
SELECT id, amt, cents, twice, _steward_side FROM inv WHERE id IN (6, 7) ORDER BY id;
-- Writes of the columns both shapes have, or of new columns up does not
-- derive, are mapped from the old shape (the row has no other yet):
-- before, down(NULL) made amt NULL.
UPDATE cents.inv SET free = coalesce(free, 0) + 1, note = 'x' WHERE id = 5 RETURNING cents, twice, free, note;
SET search_path = cents, public;
UPDATE inv SET note = 'y' WHERE id = 2 RETURNING cents, twice, note;
RESET search_path;
UPDATE inv SET amt = amt + 1 WHERE id = 4 RETURNING amt, cents;
-- a client that writes back every column it read, through the table
UPDATE inv SET amt = 9.99, cents = cents, twice = twice WHERE id = 8 RETURNING amt, cents, twice;
UPDATE cents_old.inv SET amt = amt + 1 WHERE id = 3 RETURNING amt;
-- A filled row takes relative updates in the new shape.
CALL steward.migration_backfill('cents');
UPDATE cents.inv SET cents = cents + 7 WHERE id = 5 RETURNING cents;
UPDATE cents.inv SET twice = twice * 2 WHERE id = 1 RETURNING twice;
SELECT id, amt, cents, twice, free, _steward_side FROM inv ORDER BY id;
SELECT bool_and(passed) FROM steward.migration_validate('cents');
SELECT steward.migration_rollback('cents');

-- 2. The backfill fires no user trigger (the review's reproduction):
-- updated_at keeps its values, the audit table gets no row, and a trigger
-- with unqualified names does not fail the backfill.
CREATE SCHEMA ua_app;
CREATE FUNCTION ua_app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN new.updated_at := now(); RETURN new; END $$;
CREATE TABLE ua_app.aud (id int, at text);
CREATE FUNCTION ua_app.audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO aud VALUES (new.id, TG_WHEN); RETURN NULL; END $$;
ALTER FUNCTION ua_app.audit() SET search_path = ua_app;
CREATE FUNCTION ua_app.audit_stmt() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ua_app.aud VALUES (0, 'statement'); RETURN NULL; END $$;
CREATE FUNCTION ua_app.audit_unqualified() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO aud VALUES (new.id, 'u'); RETURN NULL; END $$;
CREATE TABLE ua (id int PRIMARY KEY, a int, updated_at timestamptz) USING steward;
INSERT INTO ua SELECT g, g, '2020-01-01' FROM generate_series(1, 5) g;
CREATE TRIGGER ua_touch BEFORE UPDATE ON ua FOR EACH ROW EXECUTE FUNCTION ua_app.touch();
CREATE TRIGGER ua_audit AFTER UPDATE ON ua FOR EACH ROW EXECUTE FUNCTION ua_app.audit();
CREATE TRIGGER ua_unq AFTER UPDATE ON ua FOR EACH ROW EXECUTE FUNCTION ua_app.audit_unqualified();
CREATE TRIGGER ua_stmt AFTER UPDATE ON ua FOR EACH STATEMENT EXECUTE FUNCTION ua_app.audit_stmt();
ALTER TABLE ua ENABLE ALWAYS TRIGGER ua_unq;
SELECT steward.migration_start('ua_m', '[{"add_column": {"table": "ua", "column": "b", "type": "int", "up": "a * 10"}}]');
CALL steward.migration_backfill('ua_m', 2);
SELECT id, a, b, updated_at FROM ua ORDER BY id;
SELECT count(*) FROM ua_app.aud;
SELECT backfill_status, failed FROM steward.migrations WHERE name = 'ua_m';
SELECT bool_and(passed) FROM steward.migration_validate('ua_m');
-- The application's own writes still fire them (and the dual write).
SET search_path = ua_app, public;
UPDATE ua SET a = 7 WHERE id = 1;
RESET search_path;
SELECT id, a, b, updated_at > '2020-01-01' AS touched FROM ua WHERE id = 1;
SELECT at, count(*) FROM ua_app.aud GROUP BY at ORDER BY at;
SELECT steward.migration_complete('ua_m');
SELECT steward.migration_cleanup('ua_m');

-- Rules on UPDATE would rewrite the backfill's UPDATEs: refused at start,
-- accepted once disabled.
CREATE RULE ua_log AS ON UPDATE TO ua DO ALSO INSERT INTO ua_app.aud VALUES (new.id, 'rule');
SELECT steward.migration_start('ua_r', '[{"add_column": {"table": "ua", "column": "c", "type": "int", "up": "a"}}]');
ALTER TABLE ua DISABLE RULE ua_log;
SELECT steward.migration_start('ua_r', '[{"add_column": {"table": "ua", "column": "c", "type": "int", "up": "a"}}]');
SELECT steward.migration_rollback('ua_r');

-- 3. Foreign-key checks still run in the backfill: a new column's
-- reference whose up gives a missing key fails the batch, as before.
CREATE TABLE fkp (id int PRIMARY KEY);
INSERT INTO fkp VALUES (1), (2);
CREATE TABLE fkc (id int PRIMARY KEY, p int) USING steward;
INSERT INTO fkc VALUES (1, 1), (2, 3);
CREATE FUNCTION ua_app.never() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'user trigger fired'; END $$;
CREATE TRIGGER fkc_never BEFORE UPDATE ON fkc FOR EACH ROW EXECUTE FUNCTION ua_app.never();
SELECT steward.migration_start('fk_m', '[{"add_column": {"table": "fkc", "column": "p2", "type": "int", "up": "p", "references": "fkp"}}]');
CALL steward.migration_backfill('fk_m');
SELECT backfill_status, failed, error FROM steward.migrations WHERE name = 'fk_m';
SELECT id, p, p2 FROM fkc ORDER BY id;
INSERT INTO fkp VALUES (3);
CALL steward.migration_backfill('fk_m');
SELECT backfill_status, failed FROM steward.migrations WHERE name = 'fk_m';
SELECT id, p, p2 FROM fkc ORDER BY id;
SELECT steward.migration_rollback('fk_m');

SET client_min_messages = warning;
DROP TABLE inv, ua, fkc, fkp;
DROP SCHEMA ua_app CASCADE;
RESET client_min_messages;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('cents'), ('ua_m'), ('ua_r'), ('fk_m');
\i test/sql/drop_migration_records.sql
