-- codereview14 S1: a user's trigger named like the migration's own
-- (zz_steward_*) was taken for one of them by the name alone, so a BEFORE
-- ROW trigger of the user's so named fired after the dual-write trigger
-- zz_steward_migration and the two shapes disagreed (review26 R1's
-- bypass): start let one made before it through, and ALTER TRIGGER ...
-- RENAME TO zz_steward_zzz during the migration was accepted.  The
-- migration's own triggers are now known by their function (pg_steward's,
-- in schema steward), and a rename to such a name is refused like a
-- CREATE of one.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r302;
CREATE TABLE r302.inv (id bigint PRIMARY KEY, amt numeric(12,2) NOT NULL DEFAULT 0) USING steward;
INSERT INTO r302.inv SELECT g, g * 1.25 FROM generate_series(1, 5) g;
CREATE FUNCTION r302.double_amt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.amt := NEW.amt * 2;
    RETURN NEW;
END $$;

-- Made before start under the migration's prefix: start refuses it
-- (before: started).
CREATE TRIGGER zz_steward_zzz BEFORE INSERT OR UPDATE ON r302.inv
    FOR EACH ROW EXECUTE FUNCTION r302.double_amt();
SELECT steward.migration_start('r302_cents', $$[
  {"alter_column": {"table": "r302.inv", "column": "amt", "name": "cents", "type": "bigint",
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}}
]$$);
SELECT count(*) FROM steward.migrations WHERE name = 'r302_cents';

-- Sorting before the dual-write trigger, it starts; renaming it to the
-- prefix during the migration is refused (before: accepted, and the
-- insert below stored amt 10.00 next to cents 500).
ALTER TRIGGER zz_steward_zzz ON r302.inv RENAME TO aa_double;
SELECT steward.migration_start('r302_cents', $$[
  {"alter_column": {"table": "r302.inv", "column": "amt", "name": "cents", "type": "bigint",
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}}
]$$) IS NOT NULL AS started;
ALTER TRIGGER aa_double ON r302.inv RENAME TO zz_steward_zzz;
ALTER TRIGGER aa_double ON r302.inv RENAME TO zz_steward_aaa;
INSERT INTO r302.inv VALUES (100, 5);
-- Both shapes carry the doubled amount: 10.00 and 1000 cents.
SELECT id, amt, cents FROM r302.inv WHERE id = 100;
-- The migration's own triggers are still its own.
SELECT tgname FROM pg_trigger WHERE tgrelid = 'r302.inv'::regclass AND NOT tgisinternal
 ORDER BY tgname COLLATE "C";
SELECT steward.migration_rollback('r302_cents');
DROP SCHEMA r302 CASCADE;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r302_cents');
\i test/sql/drop_migration_records.sql
