-- mach15's finding (mach16): a column ruled on a partitioned table and on
-- a partition below it by different machines.  The write path enforces,
-- per partition, the partition's own rule, else the nearest partitioned
-- ancestor's (rules.c add_state_rule: the first seen wins), but
-- steward.verify(root) checked the root's machine over every partition's
-- rows too, failing rows the access method had accepted (and verify of
-- the partition checked both machines).  Each state rule is now checked
-- over the rows of the partitions it governs; a rule that governs none of
-- the verified table's rows is left out.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_state_machine('r251_root', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.create_state_machine('r251_leaf', ARRAY['x', 'y'], ARRAY['x'], ARRAY['x->y']);
SELECT steward.create_state_machine('r251_mid', ARRAY['m', 'n'], ARRAY['m'], ARRAY['m->n']);
-- root (r251_root) -> r251_own (r251_leaf)
--                  -> r251_plain (none of its own)
--                  -> r251_mid (r251_mid) -> r251_deep (none)
CREATE TABLE r251 (id int, st text) PARTITION BY RANGE (id);
CREATE TABLE r251_own PARTITION OF r251 FOR VALUES FROM (0) TO (100) USING steward;
CREATE TABLE r251_plain PARTITION OF r251 FOR VALUES FROM (100) TO (200) USING steward;
CREATE TABLE r251_mid PARTITION OF r251 FOR VALUES FROM (200) TO (300) PARTITION BY RANGE (id);
CREATE TABLE r251_deep PARTITION OF r251_mid FOR VALUES FROM (200) TO (300) USING steward;
SELECT steward.attach_state_machine('r251', 'st', 'r251_root');
SELECT steward.attach_state_machine('r251_own', 'st', 'r251_leaf');
SELECT steward.attach_state_machine('r251_mid', 'st', 'r251_mid');
-- What the write path enforces: each partition its nearest rule.
INSERT INTO r251 VALUES (1, 'x'), (101, 'a'), (201, 'm');
INSERT INTO r251 VALUES (2, 'a');
INSERT INTO r251 VALUES (202, 'a');
UPDATE r251 SET st = 'y' WHERE id = 1;
-- verify() agrees: every row it accepted passes (the old code failed
-- "states st" of r251 for r251_own's and r251_deep's rows).
SELECT "check", passed, detail FROM steward.verify('r251') WHERE "check" LIKE '%states%' ORDER BY 1;
SELECT "check", passed, detail FROM steward.verify('r251_own') WHERE "check" LIKE '%states%' ORDER BY 1;
SELECT "check", passed, detail FROM steward.verify('r251_mid') WHERE "check" LIKE '%states%' ORDER BY 1;
SELECT "check", passed, detail FROM steward.verify('r251_plain') WHERE "check" LIKE '%states%' ORDER BY 1;
-- Rows stored past the governing rule (session_replication_role =
-- replica) are still found, each by the rule that governs it: 'a' in
-- r251_own (the root's state, not its own), 'x' in r251_plain, 'a' in
-- r251_deep.
SET session_replication_role = replica;
INSERT INTO r251 VALUES (3, 'a'), (102, 'x'), (203, 'a');
RESET session_replication_role;
SELECT "check", passed, detail FROM steward.verify('r251') WHERE "check" LIKE '%states%' ORDER BY 1;
SELECT "check", passed FROM steward.verify('r251_own') WHERE "check" LIKE '%states%' ORDER BY 1;
SELECT "check", passed FROM steward.verify('r251_deep') WHERE "check" LIKE '%states%' ORDER BY 1;
-- Detaching the partition's rule would hand its rows back to the root's,
-- and r251_own's 'y' is no state of r251_root: the detach checks them
-- now (rules17, sql/261) and refuses, so verify() still passes.
DELETE FROM r251 WHERE id IN (3, 102, 203);
SELECT steward.detach_state_machine('r251_own', 'st');
SELECT "check", passed, detail FROM steward.verify('r251') WHERE "check" LIKE '%states%' ORDER BY 1;
UPDATE r251 SET st = 'a' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
DROP TABLE r251;
SELECT steward.drop_state_machine('r251_root');
SELECT steward.drop_state_machine('r251_leaf');
SELECT steward.drop_state_machine('r251_mid');
