-- migration_validate's "values" check compared each row's new column with
-- its up coerced by an explicit cast, where start, the backfill and the
-- dual-write trigger coerce it by the assignment rules (mig17, 0eae468):
-- for a varchar(n) column an explicit cast cuts a value too long, which
-- assignment refuses (22001), so a row whose old column holds such a
-- value, written behind the trigger's back with the cut value in the new
-- column, passed validation, though the backfill and every write of the
-- old application would refuse that row (closing46 Noticed 5).  Now the
-- up and down are coerced by assignment there too (a length coercion is
-- written as its function's call, "varchar"(x, 7, false)): such a row
-- fails "values" with the error; what assignment accepts (trailing blanks
-- cut, numeric rounded) passes as before.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE v419 (id int PRIMARY KEY, s text, n numeric) USING steward;
INSERT INTO v419 VALUES (1, 'ab', 1.4), (2, 'xyz   ', 2.5);
SELECT steward.migration_start('m419', '[{"add_column": {"table": "v419", "column": "v", "type": "varchar(3)", "up": "s"}},
                                         {"add_column": {"table": "v419", "column": "w", "type": "integer", "up": "n"}}]');
CALL steward.migration_backfill('m419');
SELECT id, s, v, length(v) AS len, n, w FROM v419 ORDER BY id;
SELECT "check", passed, detail FROM steward.migration_validate('m419') ORDER BY 1;

-- Behind the trigger's back (a superuser around the DDL guard, as 16
-- does): the old column too long for varchar(3), the new one cut.
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
ALTER TABLE v419 DISABLE TRIGGER zz_steward_migration;
UPDATE v419 SET s = 'abcdef', v = 'abc' WHERE id = 1;
ALTER TABLE v419 ENABLE ALWAYS TRIGGER zz_steward_migration;
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
-- The old application's own write of that value fails, as the backfill would.
UPDATE v419 SET s = 'abcdef' WHERE id = 2;
SELECT "check", passed, detail FROM steward.migration_validate('m419') ORDER BY 1;
SELECT phase, failed FROM steward.migrations WHERE name = 'm419';
-- Rewritten through the old shape with a value that fits: passes again.
UPDATE v419 SET s = 'abc' WHERE id = 1;
SELECT "check", passed FROM steward.migration_validate('m419') ORDER BY 1;
SELECT steward.migration_rollback('m419');

DROP TABLE v419;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m419');
\i test/sql/drop_migration_records.sql
