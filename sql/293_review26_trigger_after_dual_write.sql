-- review26 R1: PostgreSQL fires a table's BEFORE ROW triggers in name
-- order, and a column migration's dual-write trigger is named
-- zz_steward_migration.  A trigger of the user's whose name sorts after
-- it ("zzz_round", "zz_t") changed the row after up or down had mapped
-- it: the two shapes disagreed for every row it changed, validation
-- failed for ever before complete, and after complete a rollback gave the
-- old application down() of the value before the trigger, silently.
-- Now start refuses such a trigger (55000), and CREATE TRIGGER or ALTER
-- TRIGGER ... RENAME that makes one is refused until the cleanup (55006).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\i test/sql/migration_to_complete.sql
CREATE SCHEMA r293;
CREATE TABLE r293.inv (id bigint PRIMARY KEY, amt numeric(12,2) NOT NULL DEFAULT 0, note text) USING steward;
INSERT INTO r293.inv SELECT g, g * 1.25 FROM generate_series(1, 20) g;
-- Rounds the amount in the old shape, doubles the cents in the new one.
CREATE FUNCTION r293.round_amt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.amt := round(NEW.amt);
    RETURN NEW;
END $$;
CREATE FUNCTION r293.double_cents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.cents := NEW.cents * 2;
    RETURN NEW;
END $$;
CREATE TRIGGER zzz_round BEFORE INSERT OR UPDATE ON r293.inv
    FOR EACH ROW EXECUTE FUNCTION r293.round_amt();

-- Refused at start (before: started, and the insert below kept cents 370
-- next to amt 4.00).
SELECT steward.migration_start('r293_cents', $$[
  {"alter_column": {"table": "r293.inv", "column": "amt", "name": "cents", "type": "bigint",
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}}
]$$);
SELECT count(*) FROM steward.migrations WHERE name = 'r293_cents';
-- Disabled, it is refused too: enabling it later would need no DDL the
-- guard sees as a new trigger.
ALTER TABLE r293.inv DISABLE TRIGGER zzz_round;
SELECT steward.migration_start('r293_cents', $$[
  {"alter_column": {"table": "r293.inv", "column": "amt", "name": "cents", "type": "bigint",
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}}
]$$);
ALTER TABLE r293.inv ENABLE TRIGGER zzz_round;
-- Renamed to sort before the dual-write trigger, it fires first and its
-- value is mapped.
ALTER TRIGGER zzz_round ON r293.inv RENAME TO round_amt;
SELECT steward.migration_start('r293_cents', $$[
  {"alter_column": {"table": "r293.inv", "column": "amt", "name": "cents", "type": "bigint",
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}}
]$$);
INSERT INTO r293.inv VALUES (1000, 3.7);
SELECT id, amt, cents FROM r293.inv WHERE id = 1000;

-- Until the cleanup: a BEFORE ROW trigger on INSERT or UPDATE sorting
-- after it is refused, made or renamed so (55006).
CREATE TRIGGER zzz_round BEFORE UPDATE ON r293.inv
    FOR EACH ROW EXECUTE FUNCTION r293.round_amt();
CREATE TRIGGER zz_t BEFORE INSERT ON r293.inv
    FOR EACH ROW EXECUTE FUNCTION r293.round_amt();
ALTER TRIGGER round_amt ON r293.inv RENAME TO zzz_round;
-- CREATE OR REPLACE of an AFTER trigger into a BEFORE one, too.
CREATE TRIGGER zzz_after AFTER INSERT ON r293.inv
    FOR EACH ROW EXECUTE FUNCTION r293.round_amt();
CREATE OR REPLACE TRIGGER zzz_after BEFORE INSERT ON r293.inv
    FOR EACH ROW EXECUTE FUNCTION r293.round_amt();
-- Others pass: AFTER, statement, BEFORE DELETE, or sorting before.
CREATE TRIGGER zzz_del BEFORE DELETE ON r293.inv
    FOR EACH ROW EXECUTE FUNCTION r293.round_amt();
CREATE TRIGGER zzz_stmt BEFORE UPDATE ON r293.inv
    FOR EACH STATEMENT EXECUTE FUNCTION r293.round_amt();
CREATE TRIGGER zz_a BEFORE UPDATE ON r293.inv
    FOR EACH ROW EXECUTE FUNCTION r293.round_amt();
ALTER TRIGGER zzz_after ON r293.inv RENAME TO zzzz_after;
DROP TRIGGER zz_a ON r293.inv;
DROP TRIGGER zzz_del ON r293.inv;
DROP TRIGGER zzz_stmt ON r293.inv;
DROP TRIGGER zzzz_after ON r293.inv;
DROP TRIGGER round_amt ON r293.inv;
CALL pg_temp.migration_to_complete('r293_cents');
SELECT phase FROM steward.migrations WHERE name = 'r293_cents';

-- After complete, the new application writes cents.  A trigger doubling
-- them that fired after the dual-write trigger left the old column at
-- down() of the value before it: the rollback below gave the old
-- application amt 1.00 for cents 200.  Refused now; made to sort before,
-- its value reaches the old column.
CREATE TRIGGER zzz_double BEFORE UPDATE ON r293.inv
    FOR EACH ROW EXECUTE FUNCTION r293.double_cents();
CREATE TRIGGER double_cents BEFORE UPDATE ON r293.inv
    FOR EACH ROW EXECUTE FUNCTION r293.double_cents();
UPDATE r293.inv SET cents = 100 WHERE id = 1;
SELECT id, cents, _steward_old_amt FROM r293.inv WHERE id = 1;
DROP TRIGGER double_cents ON r293.inv;
SELECT steward.migration_rollback('r293_cents');
SELECT id, amt FROM r293.inv WHERE id IN (1, 1000) ORDER BY id;
SELECT count(*) AS rows_mapped_otherwise FROM r293.inv
 WHERE id NOT IN (1, 1000) AND amt <> id * 1.25;

CREATE TEMP TABLE gone AS SELECT 'r293_cents'::text AS name;
\i test/sql/drop_migration_records.sql
DROP SCHEMA r293 CASCADE;
