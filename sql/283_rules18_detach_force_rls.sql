-- rules18 item 4 (rules17's leftover): under FORCE ROW LEVEL SECURITY on
-- a partition, detach_state_machine of its own machine is refused 55000.
-- That is the right answer while the partition stores rows: the check
-- reads them as the owner, whom the policies bind, and a rule holds for
-- every row or is refused, as attach_state_machine is (the message names
-- the table, its owner and FORCE; the HINT says NO FORCE for the duration
-- or BYPASSRLS).  But an empty table was refused too, by detach, attach
-- and track_versions, though it hides nothing: now it passes.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r283_owner;
CREATE SCHEMA r283 AUTHORIZATION r283_owner;
SET ROLE r283_owner;
SELECT steward.create_state_machine('r283_root', ARRAY['a', 'x'], ARRAY['a'], ARRAY['a->x']);
SELECT steward.create_state_machine('r283_leaf', ARRAY['x', 'y'], ARRAY['x'], ARRAY['x->y']);
CREATE TABLE r283.q (id int, st text, v bigint) PARTITION BY RANGE (id);
CREATE TABLE r283.q_rows PARTITION OF r283.q FOR VALUES FROM (0) TO (10) USING steward;
CREATE TABLE r283.q_empty PARTITION OF r283.q FOR VALUES FROM (10) TO (20) USING steward;
SELECT steward.attach_state_machine('r283.q', 'st', 'r283_root');
SELECT steward.attach_state_machine('r283.q_rows', 'st', 'r283_leaf');
SELECT steward.attach_state_machine('r283.q_empty', 'st', 'r283_leaf');
INSERT INTO r283.q VALUES (1, 'x');
ALTER TABLE r283.q_rows ENABLE ROW LEVEL SECURITY;
ALTER TABLE r283.q_rows FORCE ROW LEVEL SECURITY;
ALTER TABLE r283.q_empty ENABLE ROW LEVEL SECURITY;
ALTER TABLE r283.q_empty FORCE ROW LEVEL SECURITY;

-- 1. Rows the owner cannot see: refused, by detach and by a NULL label.
SELECT steward.detach_state_machine('r283.q_rows', 'st');
\echo :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR steward ON COLUMN r283.q_rows.st IS NULL;
\echo :LAST_ERROR_SQLSTATE

-- 2. The HINT's way: NO FORCE for the duration ('x' is a state of
-- r283_root: the detach passes), then FORCE again.
ALTER TABLE r283.q_rows NO FORCE ROW LEVEL SECURITY;
SELECT steward.detach_state_machine('r283.q_rows', 'st');
ALTER TABLE r283.q_rows FORCE ROW LEVEL SECURITY;

-- 3. An empty forced partition hides no row: detach, the NULL label,
-- attach and track_versions pass (all four were 55000).
SELECT steward.detach_state_machine('r283.q_empty', 'st');
SELECT steward.attach_state_machine('r283.q_empty', 'st', 'r283_leaf');
SECURITY LABEL FOR steward ON COLUMN r283.q_empty.st IS NULL;
SELECT steward.track_versions('r283.q_empty', 'v');
-- With a row it stores, the checks refuse again.
RESET ROLE;
INSERT INTO r283.q VALUES (11, 'a');
SET ROLE r283_owner;
SELECT steward.untrack('r283.q_empty', 'v');
SELECT steward.track_versions('r283.q_empty', 'v');
\echo :LAST_ERROR_SQLSTATE
SELECT relid, column_name, machine FROM steward.tracked_columns
 WHERE relid::text LIKE 'r283.%' ORDER BY 1::text, 2;
RESET ROLE;
DROP SCHEMA r283 CASCADE;
SELECT steward.drop_state_machine(m) FROM unnest(ARRAY['r283_root', 'r283_leaf']) m;
DROP ROLE r283_owner;
