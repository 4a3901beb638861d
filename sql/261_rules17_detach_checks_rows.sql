-- mach16's leftover (rules17): steward.detach_state_machine on a
-- partition with its own machine hands its rows back to the machine of
-- the nearest partitioned ancestor with one (the write path's choice),
-- but checked none of them: rows in states that machine does not
-- declare were kept, and verify(root) then failed.  The detach now checks
-- them as attach_state_machine does (one scan, 23514 naming the values,
-- the HINT giving a way to fix them), under attach's locks.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_state_machine('r261_root', ARRAY['a', 'b', 'x'], ARRAY['a'], ARRAY['a->b', 'x->b']);
SELECT steward.create_state_machine('r261_leaf', ARRAY['x', 'y'], ARRAY['x'], ARRAY['x->y']);
SELECT steward.create_state_machine('r261_mid', ARRAY['m', 'n'], ARRAY['m'], ARRAY['m->n']);
-- r261 (r261_root) -> r261_own (r261_leaf)
--                  -> r261_plain (none of its own)
--                  -> r261_mid (r261_mid) -> r261_deep (none)
--                                         -> r261_deep_own (r261_leaf)
CREATE TABLE r261 (id int, st text) PARTITION BY RANGE (id);
CREATE TABLE r261_own PARTITION OF r261 FOR VALUES FROM (0) TO (100) USING steward;
CREATE TABLE r261_plain PARTITION OF r261 FOR VALUES FROM (100) TO (200) USING steward;
CREATE TABLE r261_mid PARTITION OF r261 FOR VALUES FROM (200) TO (400) PARTITION BY RANGE (id);
CREATE TABLE r261_deep PARTITION OF r261_mid FOR VALUES FROM (200) TO (300) USING steward;
CREATE TABLE r261_deep_own PARTITION OF r261_mid FOR VALUES FROM (300) TO (400) USING steward;
SELECT steward.attach_state_machine('r261', 'st', 'r261_root');
SELECT steward.attach_state_machine('r261_own', 'st', 'r261_leaf');
SELECT steward.attach_state_machine('r261_mid', 'st', 'r261_mid');
SELECT steward.attach_state_machine('r261_deep_own', 'st', 'r261_leaf');
INSERT INTO r261 VALUES (1, 'x'), (2, 'x'), (101, 'a'), (201, 'm'), (301, 'x');
UPDATE r261 SET st = 'y' WHERE id IN (1, 2);

-- 1. A leaf whose rows hold 'y', which r261_root does not declare: the
-- detach is refused, the rule stays, verify(r261) passes.
SELECT steward.detach_state_machine('r261_own', 'st');
\echo :LAST_ERROR_SQLSTATE
SELECT relid, column_name, machine FROM steward.tracked_columns
 WHERE relid::text LIKE 'r261%' ORDER BY relid::oid;
SELECT "check", passed FROM steward.verify('r261') WHERE "check" LIKE '%states%' ORDER BY 1;

-- 2. The HINT's way out, run as written: out of the tree, detach, fix,
-- back in (ATTACH PARTITION checks the rows against r261_root).
ALTER TABLE public.r261 DETACH PARTITION public.r261_own;
SELECT steward.detach_state_machine('r261_own', 'st');
UPDATE r261_own SET st = 'x';
ALTER TABLE public.r261 ATTACH PARTITION public.r261_own FOR VALUES FROM (0) TO (100);
SELECT "check", passed FROM steward.verify('r261') WHERE "check" LIKE '%states%' ORDER BY 1;

-- 3. Rows in a state both machines declare ('x'): the detach passes.
SELECT steward.attach_state_machine('r261_own', 'st', 'r261_leaf');
SELECT steward.detach_state_machine('r261_own', 'st');
SELECT "check", passed FROM steward.verify('r261') WHERE "check" LIKE '%states%' ORDER BY 1;

-- 4. A partitioned partition: detaching r261_mid's machine hands
-- r261_deep's rows ('m') to r261_root, not r261_deep_own's ('x', under
-- its own machine): refused naming 'm' alone.
INSERT INTO r261 VALUES (302, 'x');
UPDATE r261 SET st = 'y' WHERE id = 302;
SELECT steward.detach_state_machine('r261_mid', 'st');
\echo :LAST_ERROR_SQLSTATE
DELETE FROM r261_deep;
SELECT steward.detach_state_machine('r261_mid', 'st');
SELECT relid, column_name, machine FROM steward.tracked_columns
 WHERE relid::text LIKE 'r261%' ORDER BY relid::oid;

-- 5. Over many rows, one scan names the five most frequent values.
CREATE TABLE r261_big PARTITION OF r261 FOR VALUES FROM (1000) TO (100000) USING steward;
SELECT steward.create_state_machine('r261_wide', ARRAY['a', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6'], ARRAY['a'],
       ARRAY['a->p1', 'a->p2', 'a->p3', 'a->p4', 'a->p5', 'a->p6']);
SELECT steward.attach_state_machine('r261_big', 'st', 'r261_wide');
INSERT INTO r261 SELECT g, 'a' FROM generate_series(1000, 30999) g;
UPDATE r261 SET st = 'p' || (1 + id % 6) WHERE id % 100 < 7 AND id >= 1000;
SELECT steward.detach_state_machine('r261_big', 'st');
\echo :LAST_ERROR_SQLSTATE

-- 6. A table in no partition tree, and the root itself: nothing above
-- them, nothing checked.
CREATE TABLE r261_alone (id int, st text) USING steward;
SELECT steward.attach_state_machine('r261_alone', 'st', 'r261_leaf');
INSERT INTO r261_alone VALUES (1, 'x');
SELECT steward.detach_state_machine('r261_alone', 'st');
SELECT steward.detach_state_machine('r261', 'st');

DROP TABLE r261, r261_alone;
SELECT steward.drop_state_machine('r261_root');
SELECT steward.drop_state_machine('r261_leaf');
SELECT steward.drop_state_machine('r261_mid');
SELECT steward.drop_state_machine('r261_wide');
