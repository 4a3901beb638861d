-- migration_validate's "values" check, when an up or down failed on a
-- row (a value written behind the trigger's back that the backfill and
-- the trigger would refuse), gave the error and no row, so the user
-- could not find it among millions; and it returned without the
-- "checksums" check, so the report lost the checksums of every other
-- row (mig19).  Now the failing rows are found (bisection over ctid
-- ranges) and named by primary key, at most five with a count, as
-- PostgreSQL's constraint errors name the failing row; the other rows
-- are still compared and checksummed.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE v454 (a int, b text, s text, PRIMARY KEY (a, b)) USING steward;
INSERT INTO v454 SELECT g, 'k' || g, 'ab' FROM generate_series(1, 40) g;
SELECT steward.migration_start('m454', '[{"add_column": {"table": "v454", "column": "v", "type": "varchar(3)", "up": "s"}}]');
CALL steward.migration_backfill('m454');
SELECT "check", passed, detail FROM steward.migration_validate('m454') ORDER BY 1;

-- Behind the trigger's back (a superuser around the DDL guard, as 16
-- does): three old values too long for varchar(3), one new value that
-- differs from up(old).
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
ALTER TABLE v454 DISABLE TRIGGER zz_steward_migration;
UPDATE v454 SET s = 'abcdef', v = 'abc' WHERE a IN (7, 21, 33);
UPDATE v454 SET v = 'zz' WHERE a = 12;
ALTER TABLE v454 ENABLE ALWAYS TRIGGER zz_steward_migration;
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
-- The three rows by key, the differing one among the other 37, and the
-- checksums of those 37.
SELECT "check", passed, detail FROM steward.migration_validate('m454') ORDER BY 1;
SELECT "check", passed FROM steward.migration_validations WHERE migration = 'm454'
 ORDER BY checked_at DESC, "check" LIMIT 3;

-- The differing row rewritten through the old shape: the checksums of
-- the other rows pass, the three rows still fail.
UPDATE v454 SET s = 'ab' WHERE a = 12;
SELECT "check", passed, detail FROM steward.migration_validate('m454') ORDER BY 1;

-- Seven failing rows: five keys and a count.
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
ALTER TABLE v454 DISABLE TRIGGER zz_steward_migration;
UPDATE v454 SET s = 'abcdef', v = 'abc' WHERE a IN (2, 3, 4, 5);
ALTER TABLE v454 ENABLE ALWAYS TRIGGER zz_steward_migration;
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
SELECT "check", passed, detail FROM steward.migration_validate('m454') ORDER BY 1;

-- Every row rewritten with a value that fits: passes again.
UPDATE v454 SET s = 'abc' WHERE s = 'abcdef';
SELECT "check", passed, detail FROM steward.migration_validate('m454') ORDER BY 1;
SELECT steward.migration_rollback('m454');

DROP TABLE v454;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m454');
\i test/sql/drop_migration_records.sql
