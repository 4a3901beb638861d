-- newcomer47 C1: a cross-partition move into a partition under the SAME
-- state machine but without the row's changed_at_column (or with another
-- one) went through, and the row, under a rule that stamps nothing (or
-- another column), silently stopped being stamped.  A move now keeps a row
-- under the same rules: a state rule holds only under the same machine
-- stamping a changed_at column of the same name (or none in both); else
-- the move is refused (0A000) before anything changes, the HINT giving the
-- detach / attach calls (with changed_at_column).  And the HINT's
-- detach_state_machine call names the table that holds the destination's
-- rule: a sub-partitioned parent, not the leaf (whose detach fails 42704).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r364_app;
CREATE SCHEMA r364;
GRANT USAGE ON SCHEMA r364 TO r364_app;
SET search_path = r364;
SELECT steward.create_state_machine('m364', ARRAY['new','paid','shipped'], ARRAY['new'], ARRAY['new->paid','paid->shipped']);
SELECT steward.create_state_machine('m364_other', ARRAY['new','paid','shipped'], ARRAY['new'], ARRAY['new->paid','paid->shipped']);
CREATE TABLE o (id int, region text, st text NOT NULL DEFAULT 'new', st_at timestamptz, other_at timestamptz, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE o_a PARTITION OF o FOR VALUES IN ('a') USING steward;
CREATE TABLE o_b PARTITION OF o FOR VALUES IN ('b') USING steward;
CREATE TABLE o_c PARTITION OF o FOR VALUES IN ('c') USING steward;
SELECT steward.attach_state_machine('o_a', 'st', 'm364', changed_at_column => 'st_at');
SELECT steward.attach_state_machine('o_b', 'st', 'm364');
SELECT steward.attach_state_machine('o_c', 'st', 'm364', changed_at_column => 'other_at');
INSERT INTO o (id, region) VALUES (1, 'a'), (2, 'a');
UPDATE o SET st = 'paid';
GRANT SELECT, UPDATE ON o TO r364_app;

-- The same machine stamping no column in o_b, another column in o_c: both
-- moves are refused, the row stays in o_a (the old code: moved, and its
-- next change of state left st_at as it was).
SET ROLE r364_app;
UPDATE o SET region = 'b' WHERE id = 1;
UPDATE o SET region = 'c', st = 'shipped' WHERE id = 1;
MERGE INTO o USING (VALUES (1)) v(id) ON o.id = v.id
  WHEN MATCHED THEN UPDATE SET region = 'b';
RESET ROLE;
-- Nor the other way: o_b stamps nothing, o_a stamps st_at.
INSERT INTO o (id, region) VALUES (3, 'b');
UPDATE o SET region = 'a' WHERE id = 3;
SELECT id, region, st, st_at IS NOT NULL AS stamped FROM o ORDER BY id;

-- The HINT's calls, as given; then the move goes through, judged as an
-- update by m364 (paid -> new still refused, 23514), and the row's change
-- of state is stamped in st_at.
SELECT steward.detach_state_machine('r364.o_b', 'st'); SELECT steward.attach_state_machine('r364.o_b', 'st', 'm364', changed_at_column => 'st_at');
SELECT st_at AS before FROM o WHERE id = 1 \gset
SET ROLE r364_app;
UPDATE o SET region = 'b', st = 'shipped' WHERE id = 1;
UPDATE o SET region = 'b' WHERE id = 2;
UPDATE o SET st = 'new' WHERE id = 2;
RESET ROLE;
SELECT id, region, st, st_at > :'before' AS stamped_after_move FROM o WHERE id = 1;
SELECT id, region, st FROM o ORDER BY id;

-- A destination whose rule is its sub-partitioned parent's: the HINT's
-- detach_state_machine call names the parent (the old code named the
-- leaf, where it fails 42704).
CREATE TABLE s (id int, region text, st text NOT NULL DEFAULT 'new', st_at timestamptz, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE s_a PARTITION OF s FOR VALUES IN ('a') USING steward;
CREATE TABLE s_b PARTITION OF s FOR VALUES IN ('b') PARTITION BY RANGE (id);
CREATE TABLE s_b1 PARTITION OF s_b FOR VALUES FROM (0) TO (100) USING steward;
SELECT steward.attach_state_machine('s_a', 'st', 'm364', changed_at_column => 'st_at');
SELECT steward.attach_state_machine('s_b', 'st', 'm364');
INSERT INTO s (id, region) VALUES (1, 'a');
UPDATE s SET region = 'b' WHERE id = 1;
-- The same with another machine on the sub-partitioned parent.
SELECT steward.detach_state_machine('r364.s_b', 'st'); SELECT steward.attach_state_machine('r364.s_b', 'st', 'm364_other');
UPDATE s SET region = 'b' WHERE id = 1;
-- Its calls run as given, then the move goes through, stamped.
SELECT steward.detach_state_machine('r364.s_b', 'st'); SELECT steward.attach_state_machine('r364.s_b', 'st', 'm364', changed_at_column => 'st_at');
SELECT st_at AS before FROM s WHERE id = 1 \gset
UPDATE s SET region = 'b', st = 'paid' WHERE id = 1;
SELECT tableoid::regclass, id, st, st_at > :'before' AS stamped_after_move FROM s;

RESET search_path;
DROP SCHEMA r364 CASCADE;
SELECT steward.drop_state_machine('m364');
SELECT steward.drop_state_machine('m364_other');
DROP ROLE r364_app;
