-- codereview18 C3: an UPDATE moving a row between partitions, when the
-- partition it leaves has a rule of pg_steward its partitioned table lacks
-- (a version column, a sequence, a state machine put on partitions only),
-- opened EVERY local leaf of the tree with RowExclusiveLock, held to the
-- end of the transaction, to find the destination by testing each leaf's
-- partition constraint: 51 locks for a move in a 50-leaf tree, a deadlock
-- with DDL on two siblings, the lock table full (53200) with many
-- sessions.  The destination is now found as the executor routes the row
-- (ExecFindPartition), so the move locks the root, the partition left and
-- the partition entered, as any move does.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r404;
SET search_path = r404;
CREATE TABLE p (k int, id int, note text, version bigint) PARTITION BY LIST (k);
DO $$
BEGIN
    FOR i IN 1..50 LOOP
        EXECUTE format('CREATE TABLE r404.p_%s PARTITION OF r404.p FOR VALUES IN (%s) USING steward', i, i);
    END LOOP;
END $$;
-- The rule on two leaves only: a move between them is judged as an update.
SELECT steward.track_versions('r404.p_1', 'version');
SELECT steward.track_versions('r404.p_2', 'version');
INSERT INTO p VALUES (1, 1, 'a', 1);

-- The locks the moving transaction holds on the tree: the root, the leaf
-- left and the leaf entered (it held all 50 leaves).
BEGIN;
UPDATE p SET k = 2, note = 'b' WHERE k = 1 AND id = 1;
SELECT c.relname, l.mode
  FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
 WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
   AND c.relnamespace = 'r404'::regnamespace
 ORDER BY c.relname COLLATE "C", l.mode;
COMMIT;
SELECT k, id, note, version FROM p;

-- A move into a leaf without the rule is still refused, the row kept.
\set VERBOSITY terse
UPDATE p SET k = 37 WHERE k = 2 AND id = 1;
\set VERBOSITY default
SELECT k, id, note, version FROM p;

RESET search_path;
DROP SCHEMA r404 CASCADE;
