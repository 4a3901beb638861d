-- migration_validate's and complete's messages printed a count of one
-- with a plural noun ("1 rows: ...", "1 key ranges: ...", "1 of 16 key
-- ranges disagree (range 1: 1 rows differ, e.g. keys {10} and {10})",
-- "1 rows not backfilled yet", "1 rows of relation ... are written in one
-- shape only"), named the same key twice, and, for a key range whose
-- checksums differ with no row differing by its type's equality, printed
-- an empty example: "0 rows differ, e.g. keys  and " (mig52).  Now one
-- is singular, one key is named once, and such a range says which rows'
-- text differs.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

-- A write behind the migration's trigger, by a superuser around the DDL
-- guard (as 454 does), so its row is not what the trigger would write.
CREATE FUNCTION pg_temp.behind(stmt text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
    ALTER TABLE c481 DISABLE TRIGGER zz_steward_migration;
    EXECUTE stmt;
    ALTER TABLE c481 ENABLE ALWAYS TRIGGER zz_steward_migration;
    ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
END
$f$;

-- One row: one row, one key range.
CREATE TABLE c481 (id int PRIMARY KEY, amt numeric) USING steward;
INSERT INTO c481 VALUES (1, 1.5);
SELECT steward.migration_start('m481', '[{"add_column": {"table": "c481", "column": "cents", "type": "numeric", "up": "amt * 100"}}]');
CALL steward.migration_backfill('m481');
SELECT "check", passed, detail FROM steward.migration_validate('m481') ORDER BY 1;

-- The new value written behind the trigger's back: one
-- row of one differs, its key named once.
SELECT pg_temp.behind($s$UPDATE c481 SET cents = 151 WHERE id = 1$s$);
SELECT "check", passed, detail FROM steward.migration_validate('m481') ORDER BY 1;

-- The zero case: 150.00 equals up(old) = 150.0 by numeric's equality,
-- so no row differs, but its text does and the checksums disagree; the
-- range names the row instead of "0 rows differ, e.g. keys  and ".
SELECT pg_temp.behind($s$UPDATE c481 SET cents = 150.00 WHERE id = 1$s$);
SELECT "check", passed, detail FROM steward.migration_validate('m481') ORDER BY 1;
-- Several such rows, some in one key range: counted, one key named.
INSERT INTO c481 SELECT g, g FROM generate_series(2, 40) g;
SELECT pg_temp.behind($s$UPDATE c481 SET cents = cents::numeric(20, 3) WHERE id <= 8$s$);
SELECT "check", passed,
       regexp_replace(detail, 'range [0-9]+:', 'range N:', 'g') AS detail
  FROM steward.migration_validate('m481') WHERE "check" LIKE 'checksums%';
UPDATE c481 SET amt = amt WHERE id <= 8;

-- One row written with the trigger disabled after validation: complete
-- refuses "1 row ... is written in one shape only", and validation says
-- "1 row not backfilled yet".
SELECT "check", passed, detail FROM steward.migration_validate('m481') ORDER BY 1;
SELECT pg_temp.behind($s$INSERT INTO c481 (id, amt) VALUES (99, 9)$s$);
SELECT steward.migration_complete('m481');
SELECT "check", passed, detail FROM steward.migration_validate('m481') WHERE "check" LIKE 'backfill%';
SELECT steward.migration_rollback('m481');
DROP TABLE c481;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m481');
\i test/sql/drop_migration_records.sql
