-- vers9 (closing38 item 3): errors of a partition's row under rules its
-- partitioned table declares.
-- 1. The exhausted version's HINT named untrack of the partition, which
--    fails 42704 (the rule is the table's): it names the table declaring
--    the rule, two levels up, and a partition's own rule keeps its own.
-- 2. changed_at (428C9) and a missing machine's errors named the
--    partition to a role that may read the columns only through the
--    partitioned table (as mach11's steward_origin_error_target does for
--    the state and version errors): they name that table.  The owner
--    writing the partition itself still gets the partition.
SET client_min_messages = warning;
SELECT steward.create_state_machine('r201_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.create_state_machine('r201_gone', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE ROLE r201_app;
CREATE TABLE r201_p (id int PRIMARY KEY, st text, at timestamptz, g text, version bigint DEFAULT 1)
    PARTITION BY LIST (id);
CREATE TABLE r201_mid PARTITION OF r201_p FOR VALUES IN (1, 2, 3, 4) PARTITION BY LIST (id);
CREATE TABLE r201_leaf PARTITION OF r201_mid FOR VALUES IN (1, 2, 3, 4) USING steward;
SELECT steward.attach_state_machine('r201_p', 'st', 'r201_m', changed_at_column => 'at');
SELECT steward.attach_state_machine('r201_p', 'g', 'r201_gone');
SELECT steward.track_versions('r201_p', 'version');
INSERT INTO r201_p (id, st, g) VALUES (1, 'a', 'a'), (2, 'a', 'a');
GRANT SELECT, INSERT, UPDATE ON r201_p TO r201_app;
SET session_replication_role = replica;
UPDATE r201_p SET version = 9223372036854775807 WHERE id = 2;
RESET session_replication_role;

-- 1. The exhausted version: the HINT's untrack is the table's.
SET ROLE r201_app;
UPDATE r201_p SET st = 'a' WHERE id = 2;
RESET ROLE;
UPDATE r201_leaf SET st = 'a' WHERE id = 2;
-- The partition's untrack fails; the one the HINT names works (in a
-- transaction rolled back).
SELECT steward.untrack('r201_leaf', 'version');
BEGIN;
SELECT steward.untrack('public.r201_p', 'version');
UPDATE r201_leaf SET st = 'a' WHERE id = 2;
SELECT count(*) AS tracked FROM steward.tracked_columns WHERE relid::regclass::text LIKE 'r201%' AND kind = 'version';
ROLLBACK;

-- 2. changed_at written: the table the role writes through.
SET ROLE r201_app;
UPDATE r201_p SET at = '2001-01-01' WHERE id = 1;
RESET ROLE;
UPDATE r201_leaf SET at = '2001-01-01' WHERE id = 1;

-- 3. A machine deleted behind the rule's back: UPDATE and INSERT.
ALTER TABLE steward.machine_definitions DISABLE TRIGGER machine_definitions_attached;
DELETE FROM steward.machine_definitions WHERE name = 'r201_gone';
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_attached;
SET ROLE r201_app;
UPDATE r201_p SET g = 'b' WHERE id = 1;
INSERT INTO r201_p (id, st, g) VALUES (3, 'a', 'a');
RESET ROLE;
UPDATE r201_leaf SET g = 'b' WHERE id = 1;

-- 4. Without SELECT on the columns: the partition, as before.
REVOKE SELECT ON r201_p FROM r201_app;
GRANT SELECT (id) ON r201_p TO r201_app;
SET ROLE r201_app;
UPDATE r201_p SET at = '2001-01-01' WHERE id = 1;
UPDATE r201_p SET g = 'b' WHERE id = 1;
RESET ROLE;
SELECT steward.detach_state_machine('r201_p', 'g');

-- Nothing was written past the rules.
SELECT tableoid::regclass, id, st, at IS NULL AS at_null, g, version FROM r201_p ORDER BY id;
DROP TABLE r201_p;

-- 5. A partition's own version rule: its own untrack.
CREATE TABLE r201_q (id int PRIMARY KEY, version bigint DEFAULT 1) PARTITION BY LIST (id);
CREATE TABLE r201_q1 PARTITION OF r201_q FOR VALUES IN (1) USING steward;
SELECT steward.track_versions('r201_q1', 'version');
INSERT INTO r201_q VALUES (1);
SET session_replication_role = replica;
UPDATE r201_q SET version = 9223372036854775807 WHERE id = 1;
RESET session_replication_role;
UPDATE r201_q SET id = 1 WHERE id = 1;
DROP TABLE r201_q;

-- 6. untrack of a partition whose rule is an ancestor's names that one;
--    of a column no table tracks, as before.
CREATE TABLE r201_s (id int PRIMARY KEY, seq bigint, other int) PARTITION BY LIST (id);
CREATE TABLE r201_s1 PARTITION OF r201_s FOR VALUES IN (1) PARTITION BY LIST (id);
CREATE TABLE r201_s11 PARTITION OF r201_s1 FOR VALUES IN (1) USING steward;
SELECT steward.track_sequence('r201_s', 'seq');
SELECT steward.untrack('r201_s11', 'seq');
SELECT steward.untrack('r201_s1', 'seq');
SELECT steward.untrack('r201_s11', 'other');
SELECT steward.untrack('public.r201_s', 'seq');
SELECT count(*) AS tracked FROM steward.tracked_columns WHERE relid::regclass::text LIKE 'r201%';
DROP TABLE r201_s;
DROP ROLE r201_app;
SELECT steward.drop_state_machine('r201_m');
