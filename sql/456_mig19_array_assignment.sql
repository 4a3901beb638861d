-- An up assigned to a varchar(n)[] column: the backfill, the dual-write
-- trigger and start's probe coerce it by the assignment rules, which
-- refuse an element too long (22001), but validate's "values" check read
-- the assignment back as a cast of the whole array, an explicit cast,
-- which cut {abcdef} to {abc}: a row written behind the trigger's back
-- with the cut value passed validation, though every write of the old
-- application and the backfill refuse it (mig19; 419 fixed the scalar
-- varchar(n)).  Now validate makes the same assignment.  An up that casts
-- explicitly (tags::varchar(3)[]) cuts the elements, as PostgreSQL's
-- explicit cast does in an UPDATE or ALTER TABLE ... USING: start,
-- backfill, trigger and validate all hold the cut value, which is what
-- the final column holds.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE a456 (id int PRIMARY KEY, tags text[]) USING steward;
INSERT INTO a456 VALUES (1, '{ab,cd}'), (2, '{xyz}');

-- No cast: assignment, an element too long refused everywhere.
SELECT steward.migration_start('m456', '[{"add_column": {"table": "a456", "column": "v", "type": "varchar(3)[]", "up": "tags"}}]');
CALL steward.migration_backfill('m456');
SELECT "check", passed, detail FROM steward.migration_validate('m456') ORDER BY 1;
-- The old application's write of a too long element fails in the trigger.
UPDATE a456 SET tags = '{abcdef}' WHERE id = 2;
-- Behind the trigger's back (as 419): the old column too long, the new one cut.
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
ALTER TABLE a456 DISABLE TRIGGER zz_steward_migration;
UPDATE a456 SET tags = '{ab,abcdef}', v = '{ab,abc}' WHERE id = 1;
ALTER TABLE a456 ENABLE ALWAYS TRIGGER zz_steward_migration;
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
SELECT "check", passed, detail FROM steward.migration_validate('m456') ORDER BY 1;
-- Rewritten through the old shape with elements that fit: passes.
UPDATE a456 SET tags = '{ab,abc}' WHERE id = 1;
SELECT "check", passed FROM steward.migration_validate('m456') ORDER BY 1;
SELECT steward.migration_rollback('m456');

-- An explicit cast: the elements cut by start, backfill, trigger and
-- validate alike.
UPDATE a456 SET tags = '{abcdef,cd}' WHERE id = 1;
SELECT steward.migration_start('m456_cast', '[{"add_column": {"table": "a456", "column": "w", "type": "varchar(3)[]", "up": "tags::varchar(3)[]"}}]');
CALL steward.migration_backfill('m456_cast');
INSERT INTO a456 VALUES (3, '{uvwxyz}');
SELECT id, tags, w FROM a456 ORDER BY id;
SELECT "check", passed, detail FROM steward.migration_validate('m456_cast') ORDER BY 1;
SELECT steward.migration_rollback('m456_cast');

DROP TABLE a456;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m456'), ('m456_cast');
\i test/sql/drop_migration_records.sql
