-- vers10 (mach12's possible hole): track_versions / track_sequence /
-- set_state_check on a partitioned table locked its partitions only ACCESS
-- SHARE, so a client writing into a partition directly (INSERT, COPY,
-- UPDATE lock only the partition) was not kept out: while a track_versions
-- on the parent was open, INSERT INTO the partition of version 0 was
-- stored, under the new rule, unchecked.  Every column rule on a
-- partitioned table now takes SHARE ROW EXCLUSIVE on every partition, two
-- levels deep too, as CREATE TRIGGER and a label's LOCK TABLE do (isolation
-- vers10_track_partition_writes shows the writes).  As a non-superuser
-- owner.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS r211_owner;
CREATE ROLE r211_owner;
GRANT CREATE ON SCHEMA public TO r211_owner;
RESET client_min_messages;
SET ROLE r211_owner;
SELECT steward.create_state_machine('r211_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE r211_p (id int, v bigint, s int, st text) PARTITION BY RANGE (id);
CREATE TABLE r211_p1 PARTITION OF r211_p FOR VALUES FROM (0) TO (10) USING steward;
CREATE TABLE r211_p2 PARTITION OF r211_p FOR VALUES FROM (10) TO (20) PARTITION BY RANGE (id);
CREATE TABLE r211_p2a PARTITION OF r211_p2 FOR VALUES FROM (10) TO (20) USING steward;
INSERT INTO r211_p VALUES (1, 1, 1, 'a'), (11, 1, 1, 'a');
CREATE VIEW r211_locks AS
SELECT c.relname, string_agg(l.mode, ', ' ORDER BY l.mode) AS modes
  FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
 WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
   AND c.relname LIKE 'r211%' AND c.relname <> 'r211_locks'
 GROUP BY c.relname ORDER BY c.relname;

-- 1. Each way a rule arrives on the parent holds every partition SHARE ROW
-- EXCLUSIVE to the end of its transaction (old code: AccessShareLock on the
-- partitions for the first three).
BEGIN;
SELECT steward.track_versions('r211_p', 'v');
SELECT * FROM r211_locks;
ROLLBACK;
BEGIN;
SELECT steward.track_sequence('r211_p', 's');
SELECT * FROM r211_locks;
ROLLBACK;
SELECT steward.attach_state_machine('r211_p', 'st', 'r211_m');
BEGIN;
SELECT steward.set_state_check('r211_p', 'b', 'SELECT 0');
SELECT * FROM r211_locks;
ROLLBACK;
SELECT steward.detach_state_machine('r211_p', 'st');
BEGIN;
SELECT steward.attach_state_machine('r211_p', 'st', 'r211_m');
SELECT * FROM r211_locks;
ROLLBACK;
BEGIN;
SECURITY LABEL FOR steward ON COLUMN r211_p.v IS '{"v": 1, "kind": "version"}';
SELECT * FROM r211_locks;
ROLLBACK;

-- 2. A rule on a partition locks that partition alone (nothing above it,
-- nothing beside it).
BEGIN;
SELECT steward.track_versions('r211_p2', 'v');
SELECT * FROM r211_locks;
ROLLBACK;

-- 3. The rules work as before.
SELECT steward.track_versions('r211_p', 'v');
SELECT steward.track_sequence('r211_p', 's');
UPDATE r211_p SET s = 0 WHERE id = 11;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO r211_p2a VALUES (12, 0, 1, 'a');
\echo :LAST_ERROR_SQLSTATE
UPDATE r211_p SET s = 2 WHERE id = 1;
SELECT id, v, s FROM r211_p ORDER BY id;

DROP VIEW r211_locks;
DROP TABLE r211_p;
SELECT steward.drop_state_machine('r211_m');
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM r211_owner;
DROP ROLE r211_owner;
