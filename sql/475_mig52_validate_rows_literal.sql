-- migration_validate, when an up or down failed on a row, found the
-- failing rows and compared the other rows by rewriting its statement
-- with replace(q, '/*rows*/', <a condition on ctid>); an up or down is
-- the table owner's text inside that statement, so a literal or a
-- comment of the owner's holding /*rows*/ was rewritten too (mig52):
-- the up then computed another value while the rows were searched and
-- compared, so validation named a row that does not fail and passed a
-- row that differs.  Now the condition is placed between the parts of
-- the statement validation composed, never inside the owner's text.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

-- A varchar(3) column whose up strips the text /*rows*/: row 12's
-- 'q/*rows*/' gives 'q', which fits.  Row 7 is written behind the
-- trigger's back (as 454 does) with a value its up fails on (22012).
-- Only row 7 fails: the old code also named row 12, for which its
-- rewritten literal no longer matched and the value did not fit.
CREATE TABLE v475 (a int PRIMARY KEY, s text) USING steward;
INSERT INTO v475 SELECT g, CASE g WHEN 12 THEN 'q/*rows*/' ELSE 'ab' END FROM generate_series(1, 20) g;
SELECT steward.migration_start('m475', $j$[{"add_column": {"table": "v475", "column": "v", "type": "varchar(3)",
    "up": "CASE WHEN s = 'bad' THEN (1 / (length(s) - 3))::text ELSE replace(s, '/*rows*/', '') END"}}]$j$);
CALL steward.migration_backfill('m475');
SELECT "check", passed, detail FROM steward.migration_validate('m475') ORDER BY 1;
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
ALTER TABLE v475 DISABLE TRIGGER zz_steward_migration;
UPDATE v475 SET s = 'bad' WHERE a = 7;
ALTER TABLE v475 ENABLE ALWAYS TRIGGER zz_steward_migration;
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
SELECT "check", passed, detail FROM steward.migration_validate('m475') ORDER BY 1;
SELECT steward.migration_rollback('m475');
DROP TABLE v475;

-- A text column, the same up: row 7 fails; row 15's new value is
-- written behind the trigger's back as 'r/*rows*/', where up(old) is
-- 'r'.  The other rows differ there: the old code compared them with
-- the literal rewritten, found up = 'r/*rows*/' = v, and passed the
-- values of the other rows and their checksums.
CREATE TABLE w475 (a int PRIMARY KEY, s text) USING steward;
INSERT INTO w475 SELECT g, 'ab' FROM generate_series(1, 20) g;
SELECT steward.migration_start('n475', $j$[{"add_column": {"table": "w475", "column": "v", "type": "text",
    "up": "CASE WHEN s = 'bad' THEN (1 / (length(s) - 3))::text ELSE replace(s, '/*rows*/', '') /* not /*rows*/ here */ END"}}]$j$);
CALL steward.migration_backfill('n475');
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
ALTER TABLE w475 DISABLE TRIGGER zz_steward_migration;
UPDATE w475 SET s = 'bad' WHERE a = 7;
UPDATE w475 SET s = 'r/*rows*/', v = 'r/*rows*/' WHERE a = 15;
ALTER TABLE w475 ENABLE ALWAYS TRIGGER zz_steward_migration;
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
SELECT "check", passed, detail FROM steward.migration_validate('n475') ORDER BY 1;
-- Row 15 rewritten through the old shape, row 7 with a value up takes:
-- every check passes.
UPDATE w475 SET s = s WHERE a = 15;
UPDATE w475 SET s = 'ok' WHERE a = 7;
SELECT "check", passed, detail FROM steward.migration_validate('n475') ORDER BY 1;
SELECT steward.migration_rollback('n475');
DROP TABLE w475;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m475'), ('n475');
\i test/sql/drop_migration_records.sql
